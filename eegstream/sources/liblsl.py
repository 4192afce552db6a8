"""pylsl with eegd's own liblsl configuration, set before liblsl's first use: import pylsl from here.

liblsl reads its settings once, on first use, and writes its log lines from C straight to the process's stderr,
out of Python logging's reach; its `[log] level` is the only lever. eegd passes its configuration as content
(`lsl_set_config_content`), so no lsl_api.cfg in the working or home folder changes what eegd does.
"""

from __future__ import annotations

import pylsl

# loguru verbosity: -2 errors, -1 warnings too, 0 also INFO lines such as "Loaded default config"
LOG_LEVEL = -1

CONFIG = f"""[log]
level = {LOG_LEVEL}
"""

pylsl.set_config_content(CONFIG)

__all__ = ["pylsl", "CONFIG"]

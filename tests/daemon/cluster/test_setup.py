import subprocess

from executables import EEGD


def test_a_worker_whose_partition_count_differs_from_the_servers_refuses_to_start_in_one_line(nats_cluster, tmp_path):
    conf = tmp_path / "w.toml"
    conf.write_text(f'[mqtt]\nport = {nats_cluster.nodes[0].mqtt}\n'
                    f'[ingest]\nservers = ["{nats_cluster.urls[0]}"]\npartitions = 5\n')  # the servers map to 8
    done = subprocess.run([EEGD, "run", "--config", str(conf)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "ingest.partitions = 5" in last and "partition" in last


def test_a_worker_without_a_reachable_server_says_so_in_one_line(tmp_path):
    conf = tmp_path / "w.toml"
    conf.write_text('[ingest]\nservers = ["nats://127.0.0.1:9"]\nconnect_timeout_s = 2.0\n')
    done = subprocess.run([EEGD, "run", "--config", str(conf)], capture_output=True, text=True, timeout=60)
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2 and "none of nats://127.0.0.1:9 answers within 2 s" in last

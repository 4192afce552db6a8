import pytest

from eegd.eegstream.formats.annotations import ONSET_ONLY_S, Annotation, is_seizure, seizure_spans
from eegd.eegstream.formats.channels import RecordingError


@pytest.mark.parametrize("text", ["Seizure", "seizure onset", "SZ", "sz start", "Electrographic seizure", "GTC SEIZ"])
def test_seizure_marks(text):
    assert is_seizure(text)


@pytest.mark.parametrize("text", ["seizure-free", "no seizure", "pre-seizure", "preictal sz", "postictal",
                                  "non seizure", "interictal spikes", "Post seizure", "eyes closed", "size check",
                                  "nonseizure"])
def test_negated_or_other_marks_are_not_seizures(text):
    assert not is_seizure(text)


def test_a_mark_with_a_duration_lasts_for_it_and_overlaps_merge():
    marks = [Annotation(10, 5, "seizure"), Annotation(13, 4, "sz"), Annotation(40, 2, "Seizure")]
    assert seizure_spans(marks, 100, "f") == [(10, 17), (40, 42)]


def test_an_onset_only_mark_lasts_until_an_end_mark_else_a_minute():
    marks = [Annotation(10, None, "seizure onset"), Annotation(25, None, "seizure end"),
             Annotation(100, None, "sz"), Annotation(400, None, "eyes open")]
    assert seizure_spans(marks, 1000, "f") == [(10, 25), (100, 100 + ONSET_ONLY_S)]
    assert seizure_spans([Annotation(990, None, "Seizure")], 1000, "f") == [(990, 1000)]  # clipped to the file


def test_a_seizure_mark_outside_the_recording_is_refused_naming_it():
    with pytest.raises(RecordingError, match=r"f: seizure annotation 'sz' at -3 s lies outside"):
        seizure_spans([Annotation(-3, 2, "sz")], 100, "f")
    with pytest.raises(RecordingError, match="at 5000 s"):
        seizure_spans([Annotation(5000, 2, "seizure")], 100, "f")

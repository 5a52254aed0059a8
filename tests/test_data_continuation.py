"""Continuation instructions: prompt = opening sentences, answer = the rest, both real text."""

from langadapt.data.continuation import continuation_tasks, split_paragraph


def test_split_falls_on_a_sentence_end_and_loses_nothing():
    text = "ཁྱོད་ཀྱི་གདོང་ནི་པད་མ་བཞིན།།མིག་དག་ཨུཏྤལ་སྔོན་པོ་བཞིན། ཁྱོད་ཀྱི་གདོང་ནི་པད་མ་བཞིན།"
    head, tail = split_paragraph(text)
    assert head.endswith("།།") and head + tail == text
    assert split_paragraph("no sentence end here at all") is None


def test_tasks_skip_short_paragraphs_and_respect_limit():
    long = "第一句很長很長很長很長很長。第二句也很長很長很長很長。第三句還是很長很長很長很長。"
    records = continuation_tasks(["短。", long, long], "zh-Hant", min_chars=20, limit=1)
    assert len(records) == 1
    rec = records[0]
    assert rec["instruction"] == "請接著寫下去。" and rec["input"] + rec["output"] == long

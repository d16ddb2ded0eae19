"""report.layout: which images follow which table on a report page."""

from __future__ import annotations

from orchestrator.report.layout import IMAGE_PLACES, IMAGE_TITLES, RESULT_TABLES, images_after


def test_every_image_has_a_title_and_a_place_after_a_result_table_or_the_answers():
    assert set(IMAGE_PLACES) == set(IMAGE_TITLES)
    assert set(IMAGE_PLACES.values()) <= {*RESULT_TABLES, None}


def test_images_after_a_table_in_page_order_of_those_drawn():
    assert images_after("time", IMAGE_TITLES) == ["training_time", "accuracy_vs_time"]
    assert images_after("time", {"accuracy_vs_time"}) == ["accuracy_vs_time"]
    assert images_after(None, {"accuracy_heatmap"}) == []

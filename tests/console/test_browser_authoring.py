"""In a real browser: author a question with a picture and preview it; a paper rule's preview shows the shortfall."""

from __future__ import annotations

import pytest

from tests.console.browser import log_in, shot
from tests.console.test_question_images import sign

pytestmark = pytest.mark.browser


def test_author_a_true_false_question_with_a_picture(served, page, tmp_path):
    base = served.url
    log_in(page, base, "city_admin")
    page.goto(f"{base}/console/questions")
    page.click("text=新建题目")
    page.select_option("#qtype", "truefalse")
    page.fill("#stem", "图中标志表示“当心触电”。")
    page.fill("#answer", "A")
    page.fill("#category", "安全标志")
    page.fill("#basis", "GB 2894-2008《安全标志及其使用导则》")
    page.click("button[type=submit].primary")
    page.wait_for_selector("text=已新建")
    picture = tmp_path / "sign.png"
    picture.write_bytes(sign())
    page.set_input_files("#image", str(picture))
    page.click("text=上传图片")
    page.wait_for_selector("text=图片已保存")
    page.wait_for_function("() => [...document.querySelectorAll('img.question-image')].every(i => i.naturalWidth > 0)")
    assert page.locator(".question-preview li").all_inner_texts() == ["正确", "错误"]
    shot(page, "question-authored-with-picture")


def test_a_paper_rule_preview_states_the_shortfall(served, page):
    base = served.url
    log_in(page, base, "city_admin")
    page.goto(f"{base}/console/paper-rules")
    page.click("text=查看与编辑 >> nth=0")
    page.fill("#rules-0-count", "150")
    page.click("button[value=preview]")
    shortfall = page.locator("#shortfall")
    shortfall.wait_for()
    assert "需要 150 题，题库仅有" in shortfall.inner_text()
    shot(page, "paper-rule-shortfall")
    page.fill("#rules-0-count", "1")
    page.fill("#duration_minutes", "50")
    page.click("button[value=preview]")
    page.wait_for_selector("text=样卷预览")
    assert page.locator("#shortfall").count() == 0 and page.locator("#preview td.stem").count() > 10
    page.click("button[value=save]")
    page.wait_for_selector("text=已保存")
    assert "50 分钟" in page.inner_text("table.list")

"""Expense claims (报销) in a real browser, each user in a browser context of its own:
merchant1 issues an invoice to the demo buyer through the issue form; the buyer finds it in
its inbox, downloads its PDF and exports the selection as XLSX; the demo company's employee
uploads that PDF on /claims and sees the verification's checks ✓ at once; the approver
approves the claim (its confirm() accepted), puts it in a payment list registered on chain
and marks the list paid with the bank transfer's reference; the employee sees the claim
paid; the approver's report counts it. The employee's browser is Chinese, the approver's
English: each sees the pages, confirm()s and messages in its own language only."""
import re

import openpyxl
from playwright.sync_api import expect

GROSS_TEXT = "¥141.25"  # what issue_through_form issues: 10 × ¥12.50 + 13 % tax


def accept_dialogs(page):
    """Accepts every confirm() on ``page``; the list of their messages."""
    seen = []
    page.on("dialog", lambda d: (seen.append(d.message), d.accept()))
    return seen


def test_claim_of_an_inbox_pdf_approved_and_paid(page, new_page, login, screenshot, reload_until_visible,
                                                 issue_through_form, tmp_path):
    # --- merchant1 issues an invoice to the demo buyer
    merchant = login(page, "merchant1")
    number = issue_through_form(merchant)

    # --- the buyer: its inbox, the invoice's PDF, the selection as XLSX
    buyer = login(new_page(), "buyer")
    buyer.locator("[data-test=nav-inbox]").click()
    expect(buyer.get_by_role("heading", name="收票箱")).to_be_visible()
    row = buyer.locator(f"#inbox-table tr[data-number='{number}']")
    reload_until_visible(buyer, row.get_by_role("link", name="PDF"))
    expect(row).to_contain_text(GROSS_TEXT)
    with buyer.expect_download() as info:
        row.get_by_role("link", name="PDF").click()
    pdf = tmp_path / f"einvoice_{number}.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF"), pdf.read_bytes()[:20]
    assert info.value.suggested_filename.endswith(".pdf")
    buyer.get_by_label(f"选择 {number}").check()
    expect(buyer.locator("#inbox-selected-count")).to_have_text("（已选 1 张）")
    screenshot(buyer, "claims-1-buyer-inbox")
    with buyer.expect_download() as info:
        buyer.locator("#inbox-export").get_by_role("button", name="Excel (XLSX)").first.click()
    xlsx = tmp_path / "inbox.xlsx"
    info.value.save_as(xlsx)
    sheet = list(openpyxl.load_workbook(xlsx).active.iter_rows(values_only=True))
    assert sheet[0][0] == "发票号码" and {r[0] for r in sheet[1:]} == {number}, sheet

    # --- the employee uploads the PDF and sees the verification at once
    employee = login(new_page(), "employee")
    employee.locator("[data-test=nav-claims]").click()
    expect(employee.locator("#page-title")).to_contain_text("报销")
    form = employee.locator("#claim-upload-form")
    form.locator("input[name=file]").set_input_files(str(pdf))
    form.locator("select[name=category]").select_option("office")
    form.locator("input[name=purpose]").fill("办公用品采购")
    form.get_by_role("button", name="上传并提交").click()
    expect(employee.locator(".flash.ok")).to_contain_text("查验通过")
    result = employee.locator("#claim-result")
    expect(result).to_have_attribute("data-outcome", "submitted")
    expect(result).to_contain_text("查验通过")
    checks = result.locator("#claim-checks li")
    expect(checks).to_have_count(4)
    for i in range(4):
        expect(checks.nth(i)).to_have_attribute("data-ok", "true")
        expect(checks.nth(i).locator(".mark")).to_have_text("✓")
    expect(result.locator("li[data-check=buyer]")).to_contain_text("购买方为本企业")
    claim_id = result.get_attribute("data-claim")
    mine = employee.locator(f"#claims-table tr[data-claim='{claim_id}']")
    expect(mine).to_contain_text("待审批")
    expect(mine).to_contain_text(number)
    expect(mine).to_contain_text(GROSS_TEXT)
    expect(mine).to_contain_text("办公用品")
    expect(mine).not_to_contain_text("Office supplies")
    expect(mine).to_contain_text("厦门示例贸易有限公司")
    screenshot(employee, "claims-2-employee-submitted")

    # --- the approver approves it (a confirm()), makes a payment list, marks it paid
    approver = login(new_page(locale="en-US"), "approver")
    dialogs = accept_dialogs(approver)
    approver.locator("[data-test=nav-claims]").click()
    expect(approver.locator("#page-title")).to_have_text(re.compile(r"^Claim approval"))
    row = approver.locator(f"#claims-table tr[data-claim='{claim_id}']")
    expect(row).to_contain_text("employee")
    expect(row.locator("[data-test=reject-reason]")).to_be_visible()
    screenshot(approver, "claims-3-approver-claims")
    row.locator("[data-test=submit-approve]").click()
    expect(approver.locator(".flash.ok")).to_have_text(
        f"Claim {claim_id} approved; the invoice is marked claimed on chain.")
    assert any(d.startswith(f"Approve claim {claim_id} ({GROSS_TEXT})?") for d in dialogs), dialogs
    expect(row.locator(".badge")).to_have_text("Approved")
    expect(row.locator("[data-test=submit-approve]")).to_have_count(0)
    row.get_by_role("link", name=f"#{claim_id}").click()
    expect(approver.locator("#claim-tx")).to_have_text(re.compile(r"^0x[0-9a-f]{64}$"))
    screenshot(approver, "claims-4-approver-approved")

    approver.locator("[data-test=nav-payment-lists]").click()
    expect(approver.locator("#page-title")).to_have_text("Payment lists")
    expect(approver.get_by_label(f"Select claim {claim_id}")).to_be_checked()
    approver.get_by_role("button", name="Create payment list").click()
    expect(approver.locator(".flash.ok")).to_contain_text("created; its hash and total are registered on chain")
    listed = approver.locator("#payment-lists tbody tr").first
    expect(listed).to_have_attribute("data-status", "registered")
    expect(listed).to_contain_text(GROSS_TEXT)
    expect(listed).to_contain_text("Not paid on chain")
    expect(listed).not_to_contain_text("链上")
    expect(approver.locator("#payable-none")).to_be_visible()
    listed.get_by_label("Payment reference").fill("ICBC-20261204-0001")
    listed.get_by_role("button", name="Mark paid").click()
    expect(approver.locator(".flash.ok")).to_contain_text("marked paid; its claims are paid")
    listed = approver.locator("#payment-lists tbody tr").first
    expect(listed).to_have_attribute("data-status", "paid")
    expect(listed).to_contain_text("ICBC-20261204-0001")
    expect(listed).to_contain_text("Reference hash")
    assert "Create a payment list of the ticked claims and register it on chain?" in dialogs, dialogs
    assert any(d.startswith("Mark payment list") for d in dialogs), dialogs
    screenshot(approver, "claims-5-approver-paid")

    approver.locator("[data-test=nav-claims-report]").click()
    expect(approver.locator("#report-total")).to_contain_text(GROSS_TEXT)
    with approver.expect_download() as info:
        approver.locator("[data-test=report-xlsx]").click()
    assert info.value.suggested_filename == "expense-report-category.xlsx"
    info.value.save_as(tmp_path / "report.xlsx")
    report = openpyxl.load_workbook(tmp_path / "report.xlsx").active
    assert report.cell(report.max_row, 3).value == 141.25
    assert [report.cell(1, c).value for c in (1, 2, 3)] == ["Category", "Claims", "Amount (yuan)"]

    # --- the employee sees it paid
    employee.locator("[data-test=nav-claims]").click()
    mine = employee.locator(f"#claims-table tr[data-claim='{claim_id}']")
    expect(mine.locator(".badge")).to_have_text("已支付")
    mine.get_by_role("link", name=f"#{claim_id}").click()
    expect(employee.locator("#claim-status")).to_have_text("已支付")
    expect(employee.locator("#claim-payment-list")).to_contain_text("已支付")
    screenshot(employee, "claims-6-employee-paid")

"""`entitlements demo`: the README's first command shows what agents see."""

from click.testing import CliRunner

from adapter.cli import main


def test_demo_prints_what_agents_see_for_a_month_of_tickets():
    result = CliRunner().invoke(main, ["demo", "--language", "en"])
    assert result.exit_code == 0, result.output
    blocks = result.output.split("\n#")
    over_quota = next(b for b in blocks if "Another crash in the scheduler module" in b)
    assert "plan: basic · quota: 5/4 Nov 2026" in over_quota and "billable: yes" in over_quota
    assert "Over quota: This is ticket 5 of 4 in Nov 2026" in over_quota
    ui = next(b for b in blocks if "dashboard screen" in b)
    assert "billable: yes" in ui and "User interface building:" in ui
    pro_ui = next(b for b in blocks if "operator screen" in b)
    assert "plan: pro" in pro_ui and "billable: no" in pro_ui
    after_hours = next(b for b in blocks if "sent after hours" in b)
    assert "reaction due: Wed 25 Nov 09:00" in after_hours
    assert "(Zammad sent it again: HTTP 200 duplicate)" in result.output
    assert "12 tickets in" in result.output

"""Console accounts and sessions: the user CLI, login, lockout, cookies, CSRF, logout, audit, scope."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from console_harness import PASSWORD, browser, close_browsers, csrf_of, log_in, make_user, post_form
from server_harness import Running
from test_server_admin import packbench_server

from server.console import login as login_module
from server.console.accounts import MAX_FAILURES
from server.models import ConsoleSession, ConsoleUser, ServerAudit

__all__ = ["close_browsers"]


@pytest.fixture(autouse=True)
def quick_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login_module, "FAILURE_DELAY", 0.2)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return str(tmp_path / "server")


def cli(server: Running, *argv: str) -> int:
    """Run `packbench server …`; it binds the models to its own database handle, so bind them back."""
    try:
        return packbench_server(*argv)
    finally:
        server.rebind()


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def _audit(server: Running) -> list[tuple[str, str, str]]:
    server.rebind()
    with server.services.sdb.connection():
        return [(a.actor, a.action, a.detail) for a in ServerAudit.select().order_by(ServerAudit.id)]


def test_user_cli_add_list_passwd_disable(server: Running, cli_env: str, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    _stdin(monkeypatch, "s3cret-enough-pw\n")
    assert cli(server, "user", "add", "li.na", "--role", "supervisor", "--warehouse", "WH1", "--warehouse", "WH2",
                            "--password-stdin", "--data-dir", cli_env) == 0
    assert "li.na added: supervisor of WH1, WH2" in capsys.readouterr().out
    server.rebind()
    with server.services.sdb.connection():
        stored = ConsoleUser.get(ConsoleUser.name == "li.na")
    assert stored.password_hash.startswith("$argon2id$") and "s3cret" not in stored.password_hash
    log_in(server, "li.na", "s3cret-enough-pw")

    _stdin(monkeypatch, "s3cret-enough-pw\n")  # a second add of the name is refused, nothing changes
    assert cli(server, "user", "add", "li.na", "--role", "admin", "--warehouse", "WH1", "--password-stdin",
                            "--data-dir", cli_env) == 2  # an input error, not an unexpected one with a traceback logged
    assert "exists already" in capsys.readouterr().err
    assert cli(server, "user", "list", "--data-dir", cli_env) == 0
    assert capsys.readouterr().out.strip() == "li.na\tsupervisor\tWH1,WH2\tactive"

    _stdin(monkeypatch, "another-long-password\n")
    assert cli(server, "user", "passwd", "li.na", "--password-stdin", "--data-dir", cli_env) == 0
    with pytest.raises(AssertionError):
        log_in(server, "li.na", "s3cret-enough-pw")
    client = log_in(server, "li.na", "another-long-password")
    assert cli(server, "user", "disable", "li.na", "--data-dir", cli_env) == 0
    assert client.get("/console/").status_code == 303  # the session ended with the account
    with pytest.raises(AssertionError):
        log_in(server, "li.na", "another-long-password")
    actions = [a for _, a, _ in _audit(server)]
    assert actions[:1] == ["user.add"] and "user.passwd" in actions and "user.disable" in actions


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["--role", "boss", "--warehouse", "WH1"], "long-enough-pw\n", "invalid choice"),
    (["--role", "viewer", "--warehouse", "no such/wh"], "long-enough-pw\n", "warehouse"),
    (["--role", "viewer", "--warehouse", "WH1"], "short\n", "at least 10"),
    (["--role", "viewer", "--warehouse", "WH1"], "\n", "no password"),
])
def test_user_add_refuses_bad_input_in_one_line(cli_env: str, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str], server: Running,
                                                argv: list[str], stdin: str, message: str) -> None:
    _stdin(monkeypatch, stdin)
    try:
        code = cli(server, "user", "add", "wang", *argv, "--password-stdin", "--data-dir", cli_env)
    except SystemExit as exc:  # argparse refuses an unknown role itself
        code = int(exc.code or 0)
    assert code != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    _stdin(monkeypatch, "long-enough-pw\n")
    assert cli(server, "user", "add", "wang", "--role", "viewer", "--warehouse", "WH1",
                            "--data-dir", cli_env) == 2  # no --password-stdin: an input error, never a prompt
    assert "--password-stdin" in capsys.readouterr().err


def test_user_commands_speak_the_clis_language(cli_env: str, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str], server: Running) -> None:
    """Under a Chinese locale the refusals and summaries are Chinese; names, codes and options stay as given."""
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    _stdin(monkeypatch, "short\n")
    assert cli(server, "user", "add", "wang", "--role", "viewer", "--warehouse", "WH1", "--password-stdin",
               "--data-dir", cli_env) == 2
    assert capsys.readouterr().err.strip() == "packbench: 密码至少需要 10 个字符"
    _stdin(monkeypatch, "long-enough-pw\n")
    assert cli(server, "user", "add", "wang", "--role", "viewer", "--warehouse", "WH1", "--warehouse", "WH2",
               "--password-stdin", "--data-dir", cli_env) == 0
    assert capsys.readouterr().out.strip() == "已添加用户 wang：WH1, WH2 的查看者"
    assert cli(server, "user", "disable", "wang", "--data-dir", cli_env) == 0
    assert capsys.readouterr().out.strip() == "已停用用户 wang；其所有会话已结束"
    assert cli(server, "user", "list", "--data-dir", cli_env) == 0
    assert capsys.readouterr().out.strip() == "wang\tviewer\tWH1,WH2\t已停用"  # the role: the code --role takes
    _stdin(monkeypatch, "long-enough-pw\n")
    assert cli(server, "user", "passwd", "nobody", "--password-stdin", "--data-dir", cli_env) == 2
    assert capsys.readouterr().err.strip() == "packbench: 没有用户 'nobody'"


def test_no_page_without_a_session(server: Running) -> None:
    client = browser(server)
    for path in ("/console/", "/console/?warehouse=WH1"):
        reply = client.get(path)
        assert reply.status_code == 303 and reply.headers["location"].startswith("/console/login?next=")
    assert client.post("/console/logout", data={"csrf": "x"}).status_code == 403
    client.cookies.set("pb_session", "forged-token-value")
    forged = client.get("/console/")
    assert forged.status_code == 303


def test_login_sets_a_hardened_session_cookie_and_audits(server: Running) -> None:
    make_user(server, "zhang")
    client = browser(server)
    form = client.get("/console/login")
    assert form.headers["content-security-policy"].startswith("default-src 'none'")
    reply = client.post("/console/login", data={"name": "zhang", "password": PASSWORD, "csrf": csrf_of(form.text),
                                                "next": "https://evil.example/phish"})
    assert reply.status_code == 303 and reply.headers["location"] == "/console/"  # no open redirect
    cookie = next(h for h in reply.headers.get_list("set-cookie") if h.startswith("pb_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console/" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1 and no https public_url
    page = client.get("/console/")
    assert page.status_code == 200 and "zhang" in page.text
    server.rebind()
    with server.services.sdb.connection():
        stored = ConsoleSession.select().first()
    assert stored.token_hash != client.cookies["pb_session"]  # only the hash is stored
    assert ("zhang", "login", "") in _audit(server)


def test_cookie_is_secure_when_the_public_url_is_https(server: Running) -> None:
    from dataclasses import replace

    svc = server.services
    server.app.state.services = replace(svc, config=replace(svc.config, public_url="https://pack.example.com"))
    try:
        make_user(server, "zhang")
        client = browser(server)
        form = client.get("/console/login")
        assert "Secure" in form.headers["set-cookie"]
        client.cookies.clear()  # plain http: a browser would not send a Secure cookie back; a proxy would be https
        client.cookies.set("pb_login_csrf", form.cookies["pb_login_csrf"])
        reply = client.post("/console/login", data={"name": "zhang", "password": PASSWORD,
                                                    "csrf": csrf_of(form.text)})
        cookies = [h for h in reply.headers.get_list("set-cookie") if h.startswith("pb_session=")]
        assert cookies and all("Secure" in h for h in cookies)
    finally:
        server.app.state.services = svc


def test_login_form_needs_its_csrf_token(server: Running) -> None:
    make_user(server, "zhang")
    client = browser(server)
    client.get("/console/login")
    reply = client.post("/console/login", data={"name": "zhang", "password": PASSWORD, "csrf": "guess"})
    assert reply.status_code == 403 and "pb_session" not in reply.headers.get("set-cookie", "")
    assert any(a == "login.refused" for _, a, _ in _audit(server))


def test_wrong_password_is_slow_counted_and_locks(server: Running) -> None:
    make_user(server, "zhang")
    client = browser(server)
    for attempt in range(1, MAX_FAILURES + 1):
        started = time.monotonic()
        reply = client.post("/console/login", data={"name": "zhang", "password": f"wrong-{attempt}",
                                                    "csrf": csrf_of(client.get("/console/login").text)})
        assert reply.status_code == 401 and time.monotonic() - started >= 0.2
        assert "Wrong name or password" in reply.text
    # Locked now: even the right password is refused, with the same answer.
    reply = client.post("/console/login", data={"name": "zhang", "password": PASSWORD,
                                                "csrf": csrf_of(client.get("/console/login").text)})
    assert reply.status_code == 401
    unknown = client.post("/console/login", data={"name": "nobody", "password": PASSWORD,
                                                  "csrf": csrf_of(client.get("/console/login").text)})
    assert unknown.status_code == 401 and unknown.text.count("Wrong name") == 1
    details = [d for actor, a, d in _audit(server) if a == "login.failed"]
    assert details[0] == "wrong password (1 in a row)" and details[MAX_FAILURES - 1].endswith(", locked")
    assert "locked" in details[MAX_FAILURES] and details[-1] == "unknown user"


def test_csrf_on_every_post_and_logout_ends_the_session(server: Running) -> None:
    make_user(server, "zhang")
    client = log_in(server, "zhang")
    assert client.post("/console/logout", data={"csrf": "wrong"}).status_code == 403
    assert client.post("/console/language", data={"lang": "en"}).status_code == 403
    assert client.get("/console/").status_code == 200  # still logged in
    assert post_form(client, "/console/", "/console/logout", {}).status_code == 303
    assert client.get("/console/").status_code == 303


def test_language_from_the_browser_then_from_the_users_setting(server: Running) -> None:
    make_user(server, "zhang")
    client = log_in(server, "zhang")
    assert "Today" in client.get("/console/").text
    chinese = client.get("/console/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).text
    assert "今日" in chinese and "Today" not in chinese
    assert post_form(client, "/console/", "/console/language", {"lang": "zh_CN"}).status_code == 303
    assert "今日" in client.get("/console/").text  # the user's setting wins over Accept-Language: en


def test_a_user_sees_only_their_warehouses(server: Running) -> None:
    make_user(server, "zhang", warehouses=("WH1",))
    server.enroll("WH2", "OTHER-BENCH")
    client = log_in(server, "zhang")
    assert client.get("/console/?warehouse=WH2").status_code == 404
    assert client.get("/console/?warehouse=NOPE").status_code == 404
    assert "OTHER-BENCH" not in client.get("/console/").text

"""A credential read in the shell's less obvious ways is denied like `echo $GITHUB_TOKEN`; the environment's other
doors (`env -u X`, jq's `env`, `make -p`) are denied like `env`.

Arithmetic reads every bare name in it (bash takes `TOKEN` for `$TOKEN`, and a value that is not a number shows up
in its error message): `$(( T ))`, `$[ T ]`, `(( T ))`, `let x=T`, `declare -i x=T`, `[[ T -eq 1 ]]`, an index
`a[T]`, an offset `${x:T}`. `${TOKEN[0]}` reads TOKEN (the first element of a plain variable is its value).
`${#TOKEN}` (the length) is denied too: harmless by itself, but "naming it in an expansion reads it" is one rule to
hold, and no routine command needs a credential's length.
"""

from __future__ import annotations

import pytest

from coffee_maker.config.rules import RulesSettings
from coffee_maker.rules.engine import RuleEngine
from coffee_maker.rules.shell import parse
from coffee_maker.types import DecisionKind, PermissionRequest

ALLOW, DENY = DecisionKind.ALLOW, DecisionKind.DENY
SECRET = "secret"

CASES = [
    # arithmetic inside a command's words: the command reads the name
    ("echo $(( GITHUB_TOKEN ))", DENY, "secret-variable"),
    ("echo $(( $GITHUB_TOKEN + 1 ))", DENY, "secret-variable"),
    ("echo $[AWS_SECRET_ACCESS_KEY]", DENY, "secret-variable"),
    ("let x=AWS_SECRET_ACCESS_KEY", DENY, "secret-variable"),
    ("declare -i x=GITHUB_TOKEN", DENY, "secret-variable"),
    ("a=(1 2); echo ${a[GITHUB_TOKEN]}", DENY, "secret-variable"),
    ("echo ${x:GITHUB_TOKEN}", DENY, "secret-variable"),
    ("echo ${a[0]:GITHUB_TOKEN}", DENY, "secret-variable"),
    ('bash -c "echo \\$((GITHUB_TOKEN))"', DENY, "secret-variable"),
    # arithmetic outside any command: the statement reads it
    ("(( GITHUB_TOKEN ))", DENY, "secret-test"),
    ("[[ GITHUB_TOKEN -eq 1 ]] && echo one", DENY, "secret-test"),
    ("for ((i = GITHUB_TOKEN; i < 1; i++)); do :; done", DENY, "secret-test"),
    ("X=$((GITHUB_TOKEN)); echo $X", DENY, "secret-test"),
    ("a[GITHUB_TOKEN]=1", DENY, "secret-test"),
    ("X=${#GITHUB_TOKEN}; echo $X", DENY, "secret-test"),
    # an element of a variable is its value
    ("echo ${GITHUB_TOKEN[0]}", DENY, "secret-variable"),
    ('printf "%s" "${SLACK_BOT_TOKEN[@]}"', DENY, "secret-variable"),
    ("echo ${#GITHUB_TOKEN}", DENY, "secret-variable"),
    # what a redirection expands is read too: a here-string, an unquoted here-document, a target
    ("cat <<< $GITHUB_TOKEN", DENY, "secret-variable"),
    ('IFS= read -r x <<< "$GITHUB_TOKEN"; echo $x', DENY, "secret-variable"),
    ('while read -r l; do echo $l; done <<< "$GITHUB_TOKEN"', DENY, "secret-test"),
    ("cat > out.txt <<EOF\n$SLACK_BOT_TOKEN\nEOF", DENY, "secret-test"),
    ('echo x > "$GITHUB_TOKEN"', DENY, "secret-test"),
    ("xargs -0 -a /proc/self/environ echo", DENY, "secret-file-28"),
    ("xargs --arg-file=/proc/1/environ -0", DENY, "secret-file-28"),
    # the environment, whole or by name, without `$`
    ("env -u PATH", DENY, "env-dump"),
    ("env -u A -u B | grep -i tok", DENY, "env-dump"),
    ("jq -n env", DENY, "env-dump"),
    ("jq -n '$ENV | keys'", DENY, "env-dump"),
    ("jq -n 'env.GITHUB_TOKEN'", DENY, "secret-variable"),
    ("""jq -n '$ENV["AWS_SECRET_ACCESS_KEY"]'""", DENY, "secret-variable"),
    ("yq -n 'strenv(GITHUB_TOKEN)'", DENY, "secret-variable"),
    ("make -p -f /dev/null | grep TOKEN", DENY, "env-dump"),
    ("make --print-data-base", DENY, "env-dump"),
    # routine arithmetic, arrays, filters and make stay allowed
    ("echo $(( 16#ff + 0x1F + n * 2 ))", ALLOW, "read-only-shell"),
    ("for ((i = 0; i < 3; i++)); do echo $i; done", ALLOW, "read-only-shell"),
    ("n=$((n + 1)); echo $n", ALLOW, "read-only-shell"),
    ("(( n > 3 )) && echo big", ALLOW, "read-only-shell"),
    ("echo ${files[@]} ${#files[@]} ${x:1:2} ${x:-default}", ALLOW, "read-only-shell"),
    ("echo $(( $(wc -l < README.md) + 1 ))", ALLOW, "read-only-shell"),
    ("env -u PYTHONPATH pytest -q", ALLOW, "tests"),
    ("jq -r '.version' package.json", ALLOW, "read-only-shell"),
    ("""jq '.[] | select(.name == "env")' package.json""", ALLOW, "read-only-shell"),
    ("jq -n '$ENV.HOME'", ALLOW, "read-only-shell"),
    ("make -j4 test", ALLOW, "tests"),
    ("cat > ci.sh <<'EOF'\ncurl -H \"Authorization: $GITHUB_TOKEN\" x\nEOF", ALLOW, "read-only-shell"),  # quoted: not expanded
    ("cat > notes.txt <<EOF\nhome is $HOME\nEOF", ALLOW, "read-only-shell"),
    ("xargs -a files.txt grep -n TODO", ALLOW, "read-only-shell"),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> RuleEngine:
    root = tmp_path_factory.mktemp("worktree")
    (root / "README.md").write_text("x\n")
    (root / "package.json").write_text("{}\n")
    return RuleEngine(RulesSettings(), root=root, test_command="make check")


@pytest.mark.parametrize(("command", "kind", "rule"), CASES, ids=[c[0] for c in CASES])
def test_a_credential_read_in_any_form_is_denied(engine: RuleEngine, command: str, kind: DecisionKind,
                                                 rule: str) -> None:
    decision = engine.permission(PermissionRequest("Bash", {"command": command}))
    assert (decision.kind, decision.source.name) == (kind, rule)
    if kind is DENY:
        assert decision.risk == SECRET and decision.reason


class TestArithmeticNames:
    def test_bare_names_in_arithmetic_are_read_by_their_command(self) -> None:
        """`$(( A + b[C] ))` reads A, b and C; numbers such as `0x1F` and `16#ff` are no names."""
        [cmd] = parse("echo $(( A + b[C] + 0x1F + 16#ff ))").commands
        assert cmd.variables == {"A", "b", "C"}

    def test_arithmetic_outside_a_command_is_a_loose_read(self) -> None:
        """`(( T ))`, a C-style `for` and an assignment's value are read by no command: the request reads them."""
        parsed = parse("(( T )); for ((i = U; i < 2; i++)); do echo $i; done; X=$((V))")
        assert {"T", "U", "V"} <= parsed.loose_variables
        assert [c.words for c in parsed.commands] == [("echo", "$i")]

    def test_a_substitution_inside_arithmetic_still_runs(self) -> None:
        """`$(( $(cat f) ))`: the `cat` is a command of its own, judged as one."""
        assert [c.words for c in parse("echo $(( $(cat f) + 1 ))").commands] == [("cat", "f"), ("echo", "$(( $(cat f) + 1 ))")]

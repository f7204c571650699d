"""Shell command lines → the simple commands they run, through tree-sitter's bash grammar.

Why a real parser: a regex splitter cannot see through quoting, subshells, command
substitutions, redirections or `bash -c` strings, so it both lets risky parts through
and interrupts the person for ordinary shell (see docs/tech_decisions/shell-parser.md).

Every simple command anywhere in the tree is returned — in pipelines, lists, subshells,
`$(…)`, `<(…)`, loops and conditionals — with its environment prefix, its words (quotes
removed; a word built from an expansion keeps the `$NAME` text and is marked dynamic), its
redirections and the variables it reads. `bash -c '…'` strings, here-strings fed to a
shell, trap actions and alias texts are parsed again and their commands returned too, marked
``nested`` (``nested.py``). What a statement sets (`X=…`, `export`, `for X in`) and the
variables read outside any command (`[[ $T == … ]]`) are recorded for the request as a whole.
How one word is read lives in ``shell_words.py``; the records in ``parsed.py``.
"""

from __future__ import annotations

import functools
import threading

from tree_sitter import Node, Parser

from coffee_maker.rules.nested import NESTED_FIRST_CHARS, NESTED_HEADS, scripts_of
from coffee_maker.rules.parsed import ParsedCommand, Redirect, SimpleCommand
from coffee_maker.rules.shell_words import (
    ARITHMETIC_NAME,
    BODY,
    LANGUAGE,
    NAME,
    VALUE,
    VARIABLE,
    WordReader,
    unescape,
)

#: One parser per thread: a tree-sitter Parser must not parse in two threads at once, and decisions
#: run in their own worker threads (a stuck one is left behind while the next request is judged).
_PARSERS = threading.local()


def _parser() -> Parser:
    parser: Parser | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = Parser(LANGUAGE)
    return parser


_MAX_DEPTH = 4  # bash -c "bash -c '…'" nesting we follow before calling it unjudgeable


class _Walker(WordReader):
    """Walks the tree's statements into simple commands (words are read by ``WordReader``)."""

    def walk(self, node: Node, *, scope: int, inherited: tuple[Redirect, ...], piped: bool = False,
             stdin_text: str | None = None) -> None:
        # no try/finally: an exception ends the whole parse, and this walker with it
        outer, self._current = self._current, scope
        self._walk(node, node.type, scope, inherited, piped, stdin_text)
        self._current = outer

    def _walk(self, node: Node, kind: str, scope: int, inherited: tuple[Redirect, ...], piped: bool,
              stdin_text: str | None) -> None:
        if kind in ("command", "declaration_command", "unset_command"):
            self.command(node, scope, inherited, piped, stdin_text)
        elif kind == "redirected_statement":
            redirects, here = list(inherited), stdin_text
            body = node.child_by_field_id(BODY)
            for child in _redirects(node):
                found, text = self.redirect(child)
                redirects.extend(found)
                here = text if text is not None else here
            if body is not None:
                self.walk(body, scope=scope, inherited=tuple(redirects), piped=piped, stdin_text=here)
        elif kind == "pipeline":
            self.pipeline(node, scope, inherited, piped, stdin_text)
        elif kind in ("subshell", "command_substitution", "process_substitution"):
            inner = self.new_scope()
            for child in node.named_children:
                self.walk(child, scope=inner, inherited=inherited)
        elif kind == "variable_assignment":  # what its value reads is read outside any command (`X=$((T))`)
            variables: set[str] = set()
            name = node.child_by_field_id(NAME)
            value = node.child_by_field_id(VALUE)
            before = len(self.out.commands)
            literal = self.word(value, variables)[0] if value is not None else ""
            if name is not None and name.type == "subscript":  # `a[T]=1`: the index is arithmetic
                self.arithmetic(name, variables)
            self.out.assignment_parts += len(self.out.commands) - before
            self.out.assignments.append((self.text(name, "strict") if name else "", literal))
            self.out.loose_variables |= variables
        elif kind == "function_definition":
            name = node.child_by_field_id(NAME)
            self.out.functions.append(self.text(name, "strict") if name is not None else "")
            for child in node.named_children:
                self.walk(child, scope=self.new_scope(), inherited=inherited)
        elif kind == "variable_assignments":
            for child in node.named_children:
                self.walk(child, scope=scope, inherited=inherited)
        elif kind == "file_redirect":  # `$(< file)`: bash reads the file with no command at all
            found, _ = self.redirect(node)
            self.out.commands.append(SimpleCommand(("cat",), self.text(node),
                                                   redirects=tuple(found), scope=scope, nested=self.depth > 0))
        elif kind in ("heredoc_body", "heredoc_start", "heredoc_end", "comment", "heredoc_redirect",
                      "herestring_redirect"):
            return
        elif kind == "for_statement":  # `for X in …` sets X, once per value
            variables = set()
            name = node.child_by_field_id(VARIABLE)
            values = [self.word(v, variables)[0] for v in node.children_by_field_id(VALUE)]
            self.out.loose_variables |= variables
            self.out.assignments.append((self.text(name, "strict") if name is not None else "", " ".join(values)))
            body = node.child_by_field_id(BODY)
            if body is not None:
                self.walk(body, scope=scope, inherited=inherited)
        elif kind == "c_style_for_statement" or (kind == "compound_statement" and node.children[0].type == "(("):
            variables = set()  # `(( T ))`, `for ((i = T; …))`: arithmetic reads every name in it
            for child in node.named_children:
                if child.type != "do_group":
                    self.arithmetic(child, variables)
            self.out.loose_variables |= variables
            for child in node.named_children:
                self.walk(child, scope=scope, inherited=inherited)
        elif kind in ("test_command", "case_statement"):  # `[[ $T == ghp_* ]]`, `case $T in`: a comparison reads
            variables = set()
            for child in node.named_children:
                if child.type == "case_item":
                    self.walk(child, scope=scope, inherited=inherited)
                else:
                    self.word(child, variables)
            self.out.loose_variables |= variables
        else:
            for child in node.named_children:
                self.walk(child, scope=scope, inherited=inherited, piped=piped, stdin_text=stdin_text)

    def pipeline(self, node: Node, scope: int, inherited: tuple[Redirect, ...], piped: bool,
                 stdin_text: str | None) -> None:
        stages = node.named_children
        first, here = stages[0], stdin_text
        redirects = inherited
        body = first.child_by_field_id(BODY) if first.type == "redirected_statement" else first
        if body is not None and body.type == "list":
            # tree-sitter reads `cd x && b 2>&1 | c` as `(cd x && b) 2>&1 | c`; bash runs `cd x && (b 2>&1 | c)`:
            # what comes before the list's last command runs here (its `cd` holds for every stage), unredirected
            *before, first = body.named_children
            for child in before:
                self.walk(child, scope=scope, inherited=inherited, piped=piped, stdin_text=stdin_text)
            here = None
            if body is not stages[0]:
                found = [self.redirect(c) for c in _redirects(stages[0])]
                redirects = (*inherited, *(r for rs, _ in found for r in rs))
                here = next((text for _, text in reversed(found) if text is not None), None)
        for i, stage in enumerate(stages):
            if i == 0:
                self.walk(first, scope=self.new_scope(), inherited=redirects, piped=piped, stdin_text=here)
            else:
                self.walk(stage, scope=self.new_scope(), inherited=inherited, piped=True)

    def command(self, node: Node, scope: int, inherited: tuple[Redirect, ...], piped: bool,
                stdin_text: str | None) -> None:
        variables: set[str] = set()
        words: list[str] = []
        dynamic: set[int] = set()
        env: list[tuple[str, str]] = []
        redirects = list(inherited)
        here = stdin_text
        plain = node.type == "command"
        if not plain:  # export / declare / local / unset: the keyword is the program
            words.append(self.text(node.children[0], "strict"))
        ascii_source = self.out.source if self._ascii else None
        for child in node.named_children:
            kind = child.type
            if (kind == "word" or kind == "number") and ascii_source is not None:  # most arguments: read in place
                value = ascii_source[child.start_byte:child.end_byte]
                words.append(unescape(value) if "\\" in value else value)
            elif kind == "variable_assignment" and plain:
                name_node = child.child_by_field_id(NAME)
                value_node = child.child_by_field_id(VALUE)
                env.append((self.text(name_node, "strict") if name_node else "",
                            self.word(value_node, variables)[0] if value_node is not None else ""))
            elif kind == "variable_assignment":  # `export PATH=…`: the word as written, and an assignment too
                flags = "".join(w for w in words[1:] if w.startswith("-")) if words[0] != "export" else ""
                self._declared(child, variables, nameref="n" in flags, integer="i" in flags)
                dynamic.add(len(words))
                words.append(self.text(child))
            elif kind in ("file_redirect", "herestring_redirect", "heredoc_redirect"):
                found, text = self.redirect(child, variables)
                redirects.extend(found)
                here = text if text is not None else here
            elif kind == "command_name":
                first = child.named_child(0)
                inner = first if first is not None else child
                if ascii_source is not None and inner.type == "word":
                    value = ascii_source[inner.start_byte:inner.end_byte]
                    words.append(unescape(value) if "\\" in value else value)
                    continue
                value, was_dynamic = self.word(inner, variables)
                if was_dynamic:
                    dynamic.add(len(words))
                words.append(value)
            elif kind == "comment":
                continue
            else:
                value, was_dynamic = self.word(child, variables)
                if was_dynamic:
                    dynamic.add(len(words))
                words.append(value)
        if words and words[0] == "let":  # `let x=T`: each argument is an arithmetic expression
            for word in words[1:]:
                variables.update(ARITHMETIC_NAME.findall(word))
        text = self.text(node)
        command = SimpleCommand(tuple(words), text, tuple(env), tuple(redirects),
                                frozenset(dynamic) if dynamic else _NO_WORDS,
                                frozenset(variables) if variables else _NO_NAMES, piped, here, scope, self.depth > 0)
        self.out.commands.append(command)
        head = words[0] if words else ""
        if head in NESTED_HEADS or "/" in head or head[:1] in NESTED_FIRST_CHARS:  # else nothing can be nested
            self._nested(command)

    def _declared(self, node: Node, variables: set[str], *, nameref: bool, integer: bool) -> None:
        """`export X=…`, `local X=…`: like `X=…` on its own, it holds for the commands after it.

        ``integer`` (`declare -i X=T`): the value is evaluated as arithmetic, so every name in it is read."""
        name = node.child_by_field_id(NAME)
        value = node.child_by_field_id(VALUE)
        for child in node.named_children:  # walked as any other word is: a `$(…)` in it runs
            if child != value:
                self.word(child, variables)
        literal = self.word(value, variables)[0] if value is not None else ""
        if integer:
            variables.update(ARITHMETIC_NAME.findall(literal))
        if nameref:  # `declare -n r=GITHUB_TOKEN`: every `$r` reads GITHUB_TOKEN
            literal = "${" + literal + "}"
        self.out.assignments.append((self.text(name, "strict") if name is not None else "", literal))

    def _nested(self, command: SimpleCommand) -> None:
        """`bash -c '…'`, `watch '…'`, `trap '…' EXIT`, `alias x='…'`: the string is a command line too."""
        for script in scripts_of(command):
            if self.depth >= _MAX_DEPTH:
                self.out.error = "shell strings are nested too deeply to judge"
                return
            inner = parse(script, depth=self.depth + 1)
            if inner.error:
                self.out.error = inner.error
            self.out.commands.extend(inner.commands)
            self.out.assignments.extend(inner.assignments)  # `bash -c 'PATH=/tmp/x:$PATH; pytest'`
            self.out.loose_variables |= inner.loose_variables
            self.out.functions.extend(inner.functions)


_REDIRECTS = frozenset({"file_redirect", "herestring_redirect", "heredoc_redirect"})


def _redirects(statement: Node) -> list[Node]:
    """A redirected statement's redirections: tree-sitter leaves a here-string after `done`/`fi`/`}` out of the
    `redirect` field (`while read l; do …; done <<< "$(…)"`), and its `$(…)` runs all the same."""
    return [c for c in statement.children if c.type in _REDIRECTS]


_NO_WORDS: frozenset[int] = frozenset()
_NO_NAMES: frozenset[str] = frozenset()


def _first_error(node: Node) -> Node | None:
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error:
            found = _first_error(child)
            if found is not None:
                return found
    return None


@functools.lru_cache(maxsize=2048)
def _parse_cached(command: str, depth: int) -> ParsedCommand:
    source = command.encode("utf-8", "surrogateescape")
    tree = _parser().parse(source)
    walker = _Walker(source, depth)
    if tree.root_node.has_error:
        bad = _first_error(tree.root_node)
        where = f" near {(bad.text or b'').decode('utf-8', 'replace')[:40]!r}" if bad is not None and bad.text else ""
        walker.out.error = f"the shell parser could not read this command{where}"
    walker.walk(tree.root_node, scope=0, inherited=())
    return walker.out


def parse(command: str, *, depth: int = 0) -> ParsedCommand:
    """The simple commands of ``command`` (cached: the agent often repeats itself)."""
    return _parse_cached(command, depth)


def split_command(command: str) -> list[str]:
    """The simple commands inside a shell command line, as written (substitutions first: they run first)."""
    return [c.text for c in parse(command).commands]

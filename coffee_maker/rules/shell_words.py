"""How the shell reads one word of a command line: quotes removed, expansions marked, redirections' targets.

A word built from an expansion (`$X`, `${X:-…}`, `$(…)`) keeps its text and is marked dynamic, and the
variables it reads are recorded; a substitution inside a word runs, so it is handed back to the walker
(``shell._Walker.walk``) to be judged as commands of their own, in a scope of its own.
"""

from __future__ import annotations

import re

import tree_sitter_bash
from tree_sitter import Language, Node

from coffee_maker.rules.parsed import ParsedCommand, Redirect

LANGUAGE = Language(tree_sitter_bash.language())


def field_id(name: str) -> int:
    found = LANGUAGE.field_id_for_name(name)
    if found is None:  # the grammar changed under us: fail at import, not on the first command
        raise RuntimeError(f"tree-sitter-bash has no field {name!r}")
    return found


#: Field ids looked up once: `child_by_field_name` looks the name up again on every call.
NAME, VALUE, BODY, REDIRECT, DESCRIPTOR, DESTINATION, VARIABLE = (
    field_id(n) for n in ("name", "value", "body", "redirect", "descriptor", "destination", "variable"))


#: A name bash reads in an arithmetic expression (`T` in `$(( T ))`, `a[T]`); `0x1F` and `16#ff` are numbers.
ARITHMETIC_NAME = re.compile(r"(?<![\w#$])[A-Za-z_][A-Za-z0-9_]*")
#: `[[ A -eq B ]]`: these operators evaluate both sides as arithmetic, so a bare name is read.
_ARITHMETIC_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
#: Nodes of an expansion after its name that are arithmetic: the offset and length of `${x:OFFSET:LENGTH}`.
_EXPRESSIONS = frozenset({"variable_name", "binary_expression", "unary_expression", "parenthesized_expression",
                          "ternary_expression", "postfix_expression", "number"})
_WORDS = frozenset({"command_substitution", "process_substitution", "simple_expansion", "expansion", "string",
                    "arithmetic_expansion", "concatenation"})


class WordReader:
    """The walker's half that reads words; ``walk`` (the statements' half) is the walker's own."""

    def __init__(self, source: bytes, depth: int) -> None:
        self.source = source
        self.depth = depth
        self.out = ParsedCommand(source.decode("utf-8", "replace"))
        # ASCII (nearly every command): byte offsets are character offsets, and slicing the decoded text
        # costs a third of building and decoding each node's bytes
        self._ascii = source.isascii()
        self._scopes = 0
        self._current = 0

    def new_scope(self) -> int:
        """A scope opened here (subshell, pipeline stage, substitution) starts from the current `cd`."""
        self._scopes += 1
        self.out.parents[self._scopes] = self._current
        return self._scopes

    def text(self, node: Node, errors: str = "replace") -> str:
        """The source text of ``node``."""
        if self._ascii:
            return self.out.source[node.start_byte:node.end_byte]
        return (node.text or b"").decode("utf-8", errors)

    def word(self, node: Node, variables: set[str]) -> tuple[str, bool]:
        """A word's value with quotes removed, and whether an expansion made it (then it is not literal)."""
        kind = node.type
        if kind == "word":  # most words: a plain word, often without a backslash
            text = self.text(node)
            return (unescape(text) if "\\" in text else text), False
        if kind in ("string", "concatenation", "translated_string"):
            return self._joined(node, kind, variables)
        text = self.text(node)
        if kind in ("word", "number", "extglob_pattern", "test_operator"):
            return unescape(text), False
        if kind == "raw_string":
            return text[1:-1], False
        if kind == "ansi_c_string":
            return text[2:-1], False
        if kind in ("simple_expansion", "expansion"):
            named = False
            for child in node.named_children:
                ctype = child.type
                if not named and ctype in ("variable_name", "special_variable_name"):
                    variables.add(self.text(child, "strict"))
                    named = True
                elif ctype == "subscript" or (named and ctype in _EXPRESSIONS):  # `${T[0]}`, `${a[T]}`, `${x:T}`
                    self.arithmetic(child, variables)  # a subscript holds the name: `${a[0]:T}` offsets after it
                    named = True
                elif ctype != "special_variable_name":  # ${X:-$(cmd)}
                    self.walk(child, scope=self.new_scope(), inherited=())
            return text, True
        if kind == "arithmetic_expansion":
            for child in node.named_children:
                self.arithmetic(child, variables)
            return text, True
        if kind in ("command_substitution", "process_substitution"):
            scope = self.new_scope()
            for child in node.named_children:
                self.walk(child, scope=scope, inherited=())
            return text, True
        if kind == "binary_expression" and any(c.type == "test_operator" and self.text(c) in _ARITHMETIC_TESTS
                                               for c in node.children):
            self.arithmetic(node, variables)  # `[[ T -eq 1 ]]`
            return text, True
        for child in node.named_children:  # anything else: look inside for substitutions
            self.word(child, variables)
        return text, True

    def arithmetic(self, node: Node, variables: set[str]) -> None:
        """Every name in an arithmetic expression is read: bash takes a bare `T` for `$T` (and a value that is
        not a number shows up in its error message); a `$(…)` in it runs, as anywhere."""
        kind = node.type
        if kind in ("variable_name", "word", "number"):
            variables.update(ARITHMETIC_NAME.findall(self.text(node)))
        elif kind in _WORDS:
            self.word(node, variables)
        else:
            for child in node.named_children:
                self.arithmetic(child, variables)

    def _joined(self, node: Node, kind: str, variables: set[str]) -> tuple[str, bool]:
        """A quoted string or a concatenation: its parts' values joined."""
        parts, dynamic = [], False
        for child in node.children:
            if not child.is_named:
                if kind == "concatenation":
                    parts.append(self.text(child, "strict"))
                continue
            if child.type == "string_content":
                parts.append(self.text(child, "strict").replace('\\"', '"').replace("\\$", "$"))
                continue
            value, was_dynamic = self.word(child, variables)
            parts.append(value)
            dynamic = dynamic or was_dynamic
        return "".join(parts), dynamic

    def walk(self, node: Node, *, scope: int, inherited: tuple[Redirect, ...], piped: bool = False,
             stdin_text: str | None = None) -> None:
        raise NotImplementedError

    def redirect(self, node: Node, variables: set[str] | None = None) -> tuple[list[Redirect], str | None]:
        """The file redirections of one redirect node, and the text it feeds to stdin (here-string/document).

        What it expands (`<<< $T`, an unquoted here-document's `$T`, `> "$T"`) is read by the command it
        belongs to (``variables``), or, for a statement's redirection (`while …; done <<< $T`), by the request."""
        if variables is None:
            reads: set[str] = set()
            found = self._redirect(node, reads)
            self.out.loose_variables |= reads
            return found
        return self._redirect(node, variables)

    def _redirect(self, node: Node, variables: set[str]) -> tuple[list[Redirect], str | None]:
        if node.type == "herestring_redirect":
            fed = node.named_children[-1] if node.named_children else None
            return [], self.word(fed, variables)[0] if fed is not None else ""
        if node.type == "heredoc_redirect":
            body = next((c for c in node.named_children if c.type == "heredoc_body"), None)
            inner = [r for c in node.named_children if c.type == "file_redirect" for r in self._redirect(c, variables)[0]]
            if body is not None:
                self.word(body, variables)  # `$(…)` inside an unquoted here-document runs
            return inner, self.text(body) if body is not None else ""
        op = "".join(self.text(c, "strict") for c in node.children if not c.is_named)
        fd = node.child_by_field_id(DESCRIPTOR)
        dest = node.child_by_field_id(DESTINATION)
        target = self.word(dest, variables)[0] if dest is not None else ""
        if op.endswith("&") and target.isdigit():
            target = "&" + target
        return [Redirect(op or ">", target, self.text(fd, "strict") if fd is not None else None)], None


def unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)

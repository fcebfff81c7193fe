r"""Recursive-descent parser of rule conditions: text → tree of `app.rules.nodes`. Never `eval`.

Grammar (loosest first; `#` starts a comment to the end of the line):

    condition  := or EOF
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | compare            -- `not a == b` means `not (a == b)`, as in Python/SQL
    compare    := sum [CMP sum]                  -- CMP: == != < <= > >= in contains matches; no chains
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | DURATION | STRING | "true" | "false" | list | call | path | "(" or ")"
    list       := "[" [literal ("," literal)* [","]] "]"
    call       := NAME "(" [or ("," or)*] ")"    -- only the whitelisted functions (app.rules.types)
    path       := NAME ("." NAME)*               -- order.receiver_phone, line.qty, now, lines

NUMBER: 12, 3.5 · DURATION: a number with a unit s m h d w (30m, 24h, 7d) · STRING: "…" or '…'
with escapes \\ \" \' \n \t \r \uXXXX.
"""

from __future__ import annotations

from app.rules.errors import RuleSyntaxError
from app.rules.lexer import Token, tokenize
from app.rules.nodes import Arith, BoolOp, Call, Compare, Field, ListLit, Lit, Neg, Node, Not, depth

MAX_DEPTH = 64  # nesting of the tree; a real rule uses under 15
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "contains", "matches"})


def parse(text: str) -> Node:
    """Parse a condition; raises RuleSyntaxError (and nothing else) for any malformed text."""
    if not isinstance(text, str):
        raise RuleSyntaxError(f"a condition is text, not {type(text).__name__}")
    parser = _Parser(tokenize(text))
    if parser.at("eof"):
        raise RuleSyntaxError("empty condition")
    node = parser.or_()
    tok = parser.peek()
    if tok.kind != "eof":
        raise parser.unexpected(tok, "and / or, or the end of the condition")
    levels, where = depth(node)
    if levels > MAX_DEPTH:
        raise RuleSyntaxError(f"condition nests deeper than {MAX_DEPTH} levels", *where)
    return node


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.nesting = 0

    # ----- token helpers -----
    def peek(self) -> Token:
        return self.tokens[self.i]

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == kind and (text is None or tok.text == text)

    def take(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def expect(self, kind: str, text: str, wanted: str) -> Token:
        if not self.at(kind, text):
            raise self.unexpected(self.peek(), wanted)
        return self.take()

    @staticmethod
    def unexpected(tok: Token, wanted: str) -> RuleSyntaxError:
        found = "the end of the condition" if tok.kind == "eof" else repr(tok.text)
        return RuleSyntaxError(f"expected {wanted}, found {found}", tok.line, tok.column)

    def deeper(self, tok: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise RuleSyntaxError(f"condition nests deeper than {MAX_DEPTH} levels", tok.line, tok.column)

    # ----- grammar -----
    def or_(self) -> Node:
        node = self.and_()
        while self.at("keyword", "or"):
            tok = self.take()
            node = BoolOp("or", node, self.and_(), (tok.line, tok.column))
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("keyword", "and"):
            tok = self.take()
            node = BoolOp("and", node, self.not_(), (tok.line, tok.column))
        return node

    def not_(self) -> Node:
        if self.at("keyword", "not"):
            tok = self.take()
            self.deeper(tok)
            node = Not(self.not_(), (tok.line, tok.column))
            self.nesting -= 1
            return node
        return self.compare()

    def compare(self) -> Node:
        left = self.sum_()
        tok = self.peek()
        if tok.text not in COMPARISONS or tok.kind not in ("op", "keyword"):
            return left
        self.take()
        node = Compare(tok.text, left, self.sum_(), (tok.line, tok.column))
        nxt = self.peek()
        if nxt.text in COMPARISONS and nxt.kind in ("op", "keyword"):
            raise RuleSyntaxError("comparisons do not chain: write `a < b and b < c`", nxt.line, nxt.column)
        return node

    def sum_(self) -> Node:
        node = self.product()
        while self.at("op", "+") or self.at("op", "-"):
            tok = self.take()
            node = Arith(tok.text, node, self.product(), (tok.line, tok.column))
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.at("op", "*") or self.at("op", "/"):
            tok = self.take()
            node = Arith(tok.text, node, self.unary(), (tok.line, tok.column))
        return node

    def unary(self) -> Node:
        if self.at("op", "-"):
            tok = self.take()
            self.deeper(tok)
            node = Neg(self.unary(), (tok.line, tok.column))
            self.nesting -= 1
            return node
        return self.atom()

    def atom(self) -> Node:
        tok = self.peek()
        pos = (tok.line, tok.column)
        if tok.kind in ("number", "duration", "string"):
            self.take()
            return Lit(tok.kind, tok.value, pos)
        if tok.kind == "keyword" and tok.text in ("true", "false"):
            self.take()
            return Lit("bool", tok.text == "true", pos)
        if self.at("op", "["):
            return self.list_()
        if self.at("op", "("):
            self.take()
            self.deeper(tok)
            node = self.or_()
            self.nesting -= 1
            self.expect("op", ")", "')'")
            return node
        if tok.kind == "name":
            self.take()
            if self.at("op", "("):
                return self.call(tok)
            path = [tok.text]
            while self.at("op", "."):
                self.take()
                part = self.peek()
                if part.kind not in ("name", "keyword"):
                    raise self.unexpected(part, "a field name after '.'")
                path.append(self.take().text)
            return Field(tuple(path), pos)
        raise self.unexpected(tok, "a value, a field, a function call or '('")

    def list_(self) -> ListLit:
        start = self.take()
        items: list[Lit] = []
        while not self.at("op", "]"):
            node = self.unary()
            if isinstance(node, Neg) and isinstance(node.operand, Lit) and node.operand.kind in ("number", "duration"):
                value = node.operand.value
                node = Lit(node.operand.kind, -value if isinstance(value, int | float) else value, node.pos)
            if not isinstance(node, Lit):
                raise RuleSyntaxError("a list holds literal values only", *node.pos)
            items.append(node)
            if not self.at("op", ","):
                break
            self.take()
        self.expect("op", "]", "',' or ']'")
        return ListLit(tuple(items), (start.line, start.column))

    def call(self, name: Token) -> Call:
        self.take()  # "("
        self.deeper(name)
        args: list[Node] = []
        while not self.at("op", ")"):
            args.append(self.or_())
            if not self.at("op", ","):
                break
            self.take()
        self.expect("op", ")", "',' or ')'")
        self.nesting -= 1
        return Call(name.text, tuple(args), (name.line, name.column))

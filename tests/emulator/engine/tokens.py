"""A cursor over tokens with the helpers every statement parser uses."""
from .errors import syntax_near, err


class Stream:
    def __init__(self, tokens):
        self.tokens = tokens
        self.i = 0

    @property
    def tok(self):
        return self.tokens[self.i]

    def peek(self, k=1):
        j = min(self.i + k, len(self.tokens) - 1)
        return self.tokens[j]

    def next(self):
        tok = self.tokens[self.i]
        if tok.kind != 'eof':
            self.i += 1
        return tok

    def error(self, tok=None):
        """102/156 near the offending token (at the end of the batch: near the last token)."""
        tok = tok or self.tok
        if tok.kind == 'eof':
            last = self.tokens[self.i - 1] if self.i else tok
            return syntax_near(last.near_text(), last.is_reserved)
        return syntax_near(tok.near_text(), tok.is_reserved)

    # keywords (never quoted identifiers)
    def at(self, *words):
        tok = self.tok
        return tok.kind == 'id' and tok.value.upper() in words

    def at_seq(self, *words):
        for k, word in enumerate(words):
            tok = self.peek(k)
            if not (tok.kind == 'id' and tok.value.upper() == word):
                return False
        return True

    def accept(self, *words):
        if self.at(*words):
            return self.next().value.upper()
        return None

    def expect(self, *words):
        if not self.at(*words):
            raise self.error()
        return self.next().value.upper()

    def at_op(self, *ops):
        return self.tok.kind == 'op' and self.tok.value in ops

    def accept_op(self, *ops):
        if self.at_op(*ops):
            return self.next().value
        return None

    def expect_op(self, *ops):
        if not self.at_op(*ops):
            raise self.error()
        return self.next().value

    def at_end(self):
        """End of a statement: ';', end of batch, or the start of the next statement."""
        return self.tok.kind == 'eof' or self.at_op(';')

    # values
    def name(self):
        """An identifier (regular, [bracketed] or "quoted"); reserved words need quoting."""
        tok = self.tok
        if tok.kind == 'qid' or (tok.kind == 'id' and not tok.is_reserved):
            self.next()
            return tok.value
        raise self.error()

    def string(self):
        tok = self.tok
        if tok.kind in ('str', 'nstr'):
            self.next()
            return tok.value
        raise self.error()

    def integer(self):
        tok = self.tok
        if tok.kind == 'num' and isinstance(tok.value, int):
            self.next()
            return tok.value
        raise self.error()

    def binary(self):
        tok = self.tok
        if tok.kind == 'bin':
            self.next()
            return tok.value
        raise self.error()

    def on_off(self):
        return self.expect('ON', 'OFF') == 'ON'


def check_sysname(name):
    if len(name) > 128:
        raise err(103, name[:128], aborts_batch=True)
    return name

"""Hypothesis strategies for hostile names and passwords.

Names mix the characters that end or bend T-SQL (``]`` ``'`` ``"`` ``;`` ``--`` ``/*`` NUL, newlines),
any Unicode text (including characters outside the BMP, which count twice toward sysname's 128), and
lengths at the edges: 1, 128 and 129 characters.
"""
import string

from hypothesis import strategies as st

HOSTILE = [']', '[', ']]', "'", "''", '"', ';', '--', '/*', '*/', '\x00', '\n', '\r\n', '\t', ' ', '\\', '{', '}',
           '{partner}', '%s', '?', '@P1', "N'", '0x00', 'GO', '\nGO\n', "'; DROP LOGIN [sa]; --",
           '] ; DROP LOGIN [sa] --', 'é', 'ß', 'İ', 'ı', 'Σ', '密码', '😀', '\U00010348', '\u200b', '\ufeff',
           '\u202e', '\x7f', '\x01', '\u3000']
PLAIN = string.ascii_letters + string.digits + '_-.#$@'

fragments = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=PLAIN, min_size=1, max_size=8),
    st.text(min_size=1, max_size=4),                       # any Unicode scalar value but surrogates
)
# 128 is the largest valid sysname: exactly 128 BMP characters, or 129 (one too many), with a hostile
# character somewhere in them.
_bmp = st.characters(max_codepoint=0xFFFF, exclude_categories=('Cs',))


def _edge(length):
    return st.tuples(st.text(alphabet=_bmp, min_size=length, max_size=length), st.sampled_from(HOSTILE[:12]),
                     st.integers(0, length - 1)).map(lambda t: (t[0][:t[2]] + t[1] + t[0][t[2]:])[:length])


edge_lengths = st.one_of(st.text(alphabet=_bmp, min_size=1, max_size=1), _edge(128), _edge(129),
                         st.text(alphabet=PLAIN, min_size=128, max_size=128),
                         st.text(alphabet=PLAIN, min_size=129, max_size=129),
                         st.just('😀' * 64), st.just('😀' * 65))

names = st.one_of(
    st.lists(fragments, min_size=1, max_size=8).map(''.join),
    edge_lengths,
    st.sampled_from(HOSTILE),
    st.just(''),
)

# Passwords: the same hostile text; a strong fixed tail keeps CHECK_POLICY-free runs about quoting only.
passwords = st.one_of(
    st.lists(fragments, min_size=1, max_size=10).map(''.join),
    edge_lengths,
    st.sampled_from(HOSTILE),
    st.just(''),
)

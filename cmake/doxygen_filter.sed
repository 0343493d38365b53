# Input filter for Doxygen (Doxyfile: INPUT_FILTER): gka's headers document
# every declaration in plain C comments; this turns them into Doxygen
# comments on the fly, so that the headers stay in one comment style.
#   - the file's opening comment becomes the \file description;
#   - a comment that starts a line documents the declaration after it;
#   - a comment after code on the same line documents that member (/**<);
#   - section rulers (/* ---- ... */, /* ==== */) stay plain comments.
# preprocessor lines pass unchanged
/^[[:space:]]*#/b
# text that Doxygen would take as commands or HTML tags: "@cell", "<one>"
s|@|\\@|g
s|<\([a-z][a-z_ .]*\)>|\\<\1\\>|g
1s|^/\* |/** \\file\n * |
/^[[:space:]]*\/\* [-=]\{3,\}/b
/^[[:space:]]*\/\* /{
  s|^\([[:space:]]*\)/\* |\1/** |
  b
}
/^[[:space:]]*\*/b
s|\([^[:space:]]\)\([[:space:]]\+\)/\* |\1\2/**< |

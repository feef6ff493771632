"""robots.txt (RFC 9309): the tolerant parser, the robots reasons and the compiled path matcher
(also used by the other sources that reuse robots.txt path patterns)."""

// Tracemark pages: no inline scripts (CSP script-src self).

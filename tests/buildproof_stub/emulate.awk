# The credential-file writes of real tools, emulated inside the stub base image (tests/buildproof.py).
#
# Run by the stub as: awk -v prog=NAME -v cwd=DIR -v table=FILE -v stdin_file=FILE -v record=FILE -f emulate.awk -- ARGS...
# `table` is EMULATIONS from tests/buildproof.py rendered as tab-separated rows:
#   programs  words  require  forbid  valued  effect  path  arg1  arg2  arg3
# Every row whose programs, words and flags match the call is applied, in table order; the
# numbers (1-based) of the rows applied go to `record` when given.
# Nothing here prints: the build's output stays as the RUN made it.

function reset_parse() {
    split("", pos); split("", opts); split("", flags); np = 0
}

# split the call's arguments into positional words, flags and option values; `valued` names the
# options whose value is the next argument
function parse(valued,    i, a, eq, name, rest, vl, k) {
    reset_parse()
    split(valued, vl, " ")
    split("", isval)
    for (k in vl) isval[vl[k]] = 1
    rest = 0
    for (i = 1; i <= nargs; i++) {
        a = args[i]
        if (rest || a == "-" || substr(a, 1, 1) != "-") { pos[++np] = a; continue }
        if (a == "--") { rest = 1; continue }
        eq = index(a, "=")
        if (eq > 0 && substr(a, 1, 2) == "--") {
            name = substr(a, 1, eq - 1); flags[name] = 1; opts[name] = substr(a, eq + 1); continue
        }
        flags[a] = 1
        if ((a in isval) && i < nargs) { opts[a] = args[++i] }
    }
}

# one requirement: `-g|--global`, `--location=project|-L=project`
function present(alts,    n, al, k, eq, name) {
    n = split(alts, al, "|")
    for (k = 1; k <= n; k++) {
        eq = index(al[k], "=")
        if (eq > 0) {
            name = substr(al[k], 1, eq - 1)
            if ((name in opts) && opts[name] == substr(al[k], eq + 1)) return 1
        } else if (al[k] in flags) return 1
    }
    return 0
}

function matches(progs, words, require, forbid,    pl, k, n, ok, wl, nw, w, i, alts, na, j, hit) {
    n = split(progs, pl, " "); ok = 0
    for (k = 1; k <= n; k++) if (pl[k] == prog) ok = 1
    if (!ok) return 0
    n = split(require, pl, " ")
    for (k = 1; k <= n; k++) if (!present(pl[k])) return 0
    n = split(forbid, pl, " ")
    for (k = 1; k <= n; k++) if (present(pl[k])) return 0
    split("", caps); ncap = 0
    nw = split(words, wl, " ")
    i = 1
    for (k = 1; k <= nw; k++) {
        w = wl[k]
        if (w == "...") return 1
        if (w == "{}?") { if (i <= np) caps[++ncap] = pos[i++]; else caps[++ncap] = ""; continue }
        if (i > np) return 0
        if (w == "{}") { caps[++ncap] = pos[i++]; continue }
        if (substr(w, length(w)) == "*") {
            if (substr(pos[i], 1, length(w) - 1) != substr(w, 1, length(w) - 1)) return 0
            caps[++ncap] = pos[i++]; continue
        }
        na = split(w, alts, "|"); hit = 0
        for (j = 1; j <= na; j++) if (alts[j] == pos[i]) hit = 1
        if (!hit) return 0
        i++
    }
    return i > np
}

function b64(s,    tbl, out, i, n, c1, c2, c3, v) {
    tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    out = ""; n = length(s)
    for (i = 1; i <= n; i += 3) {
        c1 = ord[substr(s, i, 1)]; c2 = (i + 1 <= n) ? ord[substr(s, i + 1, 1)] : 0
        c3 = (i + 2 <= n) ? ord[substr(s, i + 2, 1)] : 0
        v = c1 * 65536 + c2 * 256 + c3
        out = out substr(tbl, int(v / 262144) % 64 + 1, 1) substr(tbl, int(v / 4096) % 64 + 1, 1)
        out = out ((i + 1 <= n) ? substr(tbl, int(v / 64) % 64 + 1, 1) : "=")
        out = out ((i + 2 <= n) ? substr(tbl, v % 64 + 1, 1) : "=")
    }
    return out
}

function before_dot(s,    d) { d = index(s, "."); return d ? substr(s, 1, d - 1) : s }
function after_dot(s,    d) { d = index(s, "."); return d ? substr(s, d + 1) : "" }
function before_last_dot(s,    i) { for (i = length(s); i > 0; i--) if (substr(s, i, 1) == ".") return substr(s, 1, i - 1); return s }
function after_last_dot(s,    i) { for (i = length(s); i > 0; i--) if (substr(s, i, 1) == ".") return substr(s, i + 1); return s }
# `url.https://x@host/` -> `url "https://x@host/"`; `core` -> `core`
function git_header(sec,    d) {
    d = index(sec, ".")
    if (!d) return "[" sec "]"
    return "[" substr(sec, 1, d - 1) " \"" substr(sec, d + 1) "\"]"
}

# one `{...}` token of a template
function token(t,    q, v, kind, arg, n, c) {
    q = index(t, "?")
    if (q > 0) { v = token(substr(t, 1, q - 1)); return v != "" ? v : token(substr(t, q + 1)) }
    if (t ~ /^[0-9]+$/) return caps[t + 0]
    if (t == "stdin") return STDIN
    if (t == "dockerhub") return "https://index.docker.io/v1/"
    if (t == "dockerauth") {
        v = ("-p" in opts) ? opts["-p"] : (("--password" in opts) ? opts["--password"] : STDIN)
        return b64(((("-u" in opts) ? opts["-u"] : opts["--username"])) ":" v)
    }
    c = index(t, ":"); kind = substr(t, 1, c - 1); arg = substr(t, c + 1)
    if (kind == "lit") return arg
    if (kind == "opt") return (arg in opts) ? opts[arg] : ""
    v = caps[arg + 0]
    if (kind == "keyof") { n = index(v, "="); return n ? substr(v, 1, n - 1) : v }
    if (kind == "sect") return before_dot(v)
    if (kind == "tail") return after_dot(v)
    if (kind == "base") { sub(/\/+$/, "", v); sub(/.*[\/:]/, "", v); sub(/\.git$/, "", v); return v }
    if (kind == "bundlekey") { v = toupper(v); gsub(/\./, "__", v); gsub(/-/, "___", v); return "BUNDLE_" v }
    if (kind == "githeader") return git_header(v)
    if (kind == "gitkeyheader") return git_header(before_last_dot(v))
    if (kind == "gitname") return after_last_dot(v)
    return ""
}

function expand(tpl,    out, t) {
    gsub(/\\n/, "\n", tpl); gsub(/\\t/, "\t", tpl)
    out = ""
    while (match(tpl, /\{[A-Za-z0-9?:._,\/-]*\}/)) {
        t = substr(tpl, RSTART + 1, RLENGTH - 2)
        out = out substr(tpl, 1, RSTART - 1) token(t)
        tpl = substr(tpl, RSTART + RLENGTH)
    }
    return out tpl
}

# a leading `${VAR:-default}` (before templates: its braces are not a token)
function envvar(p,    m, var, def, val, n) {
    if (substr(p, 1, 2) != "${") return p
    n = index(p, "}")
    m = substr(p, 3, n - 3)
    if (index(m, ":-") == 0) return p
    var = substr(m, 1, index(m, ":-") - 1); def = substr(m, index(m, ":-") + 2)
    val = (var in ENVIRON && ENVIRON[var] != "") ? ENVIRON[var] : def
    return val substr(p, n + 1)
}

# `~/x`, a path relative to the working directory
function where(p) {
    if (substr(p, 1, 2) == "~/") p = ENVIRON["HOME"] "/" substr(p, 3)
    if (substr(p, 1, 1) != "/") p = CWD "/" p
    return p
}

function mkparent(p,    d) {
    d = p; sub(/\/[^\/]*$/, "", d)
    if (d != "") system("mkdir -p '" d "'")
}

function load(p,    line, n) {
    split("", L); n = 0
    while ((getline line < p) > 0) L[++n] = line
    close(p)
    return n
}

function save(p, n,    k) {
    mkparent(p)
    printf "" > p
    for (k = 1; k <= n; k++) print L[k] > p
    close(p)
}

# a line setting `key` (`key=v`, `key = v`, `key: v`, `key "v"`)
function is_key(line, key,    rest) {
    sub(/^[ \t]+/, "", line)
    if (substr(line, 1, length(key)) != key) return 0
    rest = substr(line, length(key) + 1)
    return rest == "" || rest ~ /^[ \t]*[=:]/ || rest ~ /^[ \t]+/
}

function drop_key(n, key, from, to,    k, m, keep) {
    m = 0; split("", keep)
    for (k = 1; k <= n; k++) if (k < from || k > to || !is_key(L[k], key)) keep[++m] = L[k]
    split("", L); for (k = 1; k <= m; k++) L[k] = keep[k]
    return m
}

# the line range [SFROM, STO] of section `header` (SFROM 0 when absent)
function find_section(n, header,    k) {
    SFROM = 0; STO = 0
    for (k = 1; k <= n; k++) {
        if (SFROM == 0 && L[k] == header) { SFROM = k; STO = n; continue }
        if (SFROM > 0 && L[k] ~ /^[ \t]*\[/) { STO = k - 1; return }
    }
}

function apply(effect, path, a1, a2, a3,    p, n, k, m, keep) {
    p = where(expand(envvar(path)))
    if (effect == "write") { mkparent(p); printf "%s", expand(a1) > p; close(p); return }
    if (effect == "append") { mkparent(p); printf "%s\n", expand(a1) >> p; close(p); return }
    if (effect == "mkdir") { system("mkdir -p '" p "'"); return }
    if (effect == "rm") { system("rm -f '" p "'"); return }
    n = load(p)
    if (effect == "kv") { n = drop_key(n, expand(a1), 1, n); L[++n] = expand(a2); save(p, n); return }
    if (effect == "unset") { if (n > 0) save(p, drop_key(n, expand(a1), 1, n)); return }
    if (effect == "ini" || effect == "iniunset") {
        find_section(n, expand(a1))
        if (SFROM > 0) { m = n; n = drop_key(n, expand(a2), SFROM + 1, STO); STO -= m - n }
        if (effect == "iniunset") { if (SFROM > 0) save(p, n); return }
        if (SFROM == 0) { L[++n] = expand(a1); L[++n] = expand(a3); save(p, n); return }
        for (k = n; k > STO; k--) L[k + 1] = L[k]
        L[STO + 1] = expand(a3); save(p, n + 1); return
    }
    if (effect == "dropsection") {
        find_section(n, expand(a1))
        if (SFROM == 0) return
        m = 0; split("", keep)
        for (k = 1; k <= n; k++) if (k < SFROM || k > STO) keep[++m] = L[k]
        split("", L); for (k = 1; k <= m; k++) L[k] = keep[k]
        save(p, m); return
    }
}

BEGIN {
    for (i = 0; i < 256; i++) ord[sprintf("%c", i)] = i
    nargs = 0
    for (i = 1; i < ARGC; i++) args[++nargs] = ARGV[i]
    CWD = cwd; if (CWD == "") CWD = ENVIRON["PWD"]; if (CWD == "") CWD = "/"
    STDIN = ""
    if (stdin_file != "") {
        first = 1
        while ((getline line < stdin_file) > 0) { STDIN = STDIN (first ? "" : "\n") line; first = 0 }
        close(stdin_file)
    }
    rowno = 0
    while ((getline row < table) > 0) {
        rowno++
        nf = split(row, f, "\t")
        parse(f[5])
        if (matches(f[1], f[2], f[3], f[4])) {
            apply(f[6], f[7], f[8], f[9], f[10])
            if (record != "") { print rowno > record }
        }
    }
    exit 0
}

/**
 * The frame of a self-contained reference page (no CDN, no build) for a document served beside it:
 * the shared look, a table of contents beside the main column, and a script that loads the
 * document and hands it to the page's `render(doc)`, with `$` (an element), `json` and `base` in scope.
 */
export interface ReferencePage {
  /** The page's own path segment (`docs`): the document is fetched from the folder it is in. */
  path: string
  /** The document's file name, `openapi.json`. */
  document: string
  title: string
  /** Rules of the page's own, after the shared ones. */
  style: string
  /** The navigation column; its `#toc` is the page's to fill. */
  nav: string
  /** Defines `render(doc)`, which fills `#main`. */
  script: string
}

const STYLE = `:root { color-scheme: light dark; --bg:#fff; --fg:#1d2330; --muted:#6b7385; --line:#dde1ea; --card:#f6f7fa; --accent:#2f6fde; }
@media (prefers-color-scheme: dark) { :root { --bg:#11141a; --fg:#e4e7ee; --muted:#8d95a8; --line:#2a2f3a; --card:#181c24; --accent:#6ea0ff; } }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui, sans-serif; background:var(--bg); color:var(--fg); display:grid; grid-template-columns: 280px 1fr; height:100vh; }
nav { border-right:1px solid var(--line); overflow:auto; padding:12px; }
main { overflow:auto; padding:20px 28px; }
nav h2 { font-size:12px; text-transform:uppercase; color:var(--muted); margin:16px 0 4px; }
nav a { display:flex; gap:6px; padding:3px 4px; color:inherit; text-decoration:none; border-radius:4px; }
nav a:hover { background:var(--card); }
main section { border:1px solid var(--line); border-radius:8px; padding:14px 16px; margin:0 0 18px; }
main section h3 { margin:0 0 6px; font:600 15px ui-monospace, monospace; }
pre { background:var(--card); padding:8px 10px; border-radius:6px; overflow:auto; font-size:12px; max-height:360px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
td, th { border-bottom:1px solid var(--line); padding:4px 6px; text-align:left; vertical-align:top; }
details { margin:6px 0; } summary { cursor:pointer; color:var(--muted); }
.muted { color:var(--muted); }`

/** The page's inline script and style, and the document fetched from the same origin. */
export const REFERENCE_PAGE_CSP = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"

export const referencePage = (page: ReferencePage) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title}</title>
<style>
${STYLE}
${page.style}
</style>
</head>
<body>
<nav>${page.nav}</nav>
<main id="main"><p class="muted">Loading ${page.document}…</p></main>
<script>
(() => {
  const $ = (tag, attrs = {}, ...children) => {
    const el = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) k === 'text' ? (el.textContent = v) : el.setAttribute(k, v)
    for (const c of children) if (c) el.append(c)
    return el
  }
  const json = (v) => JSON.stringify(v, null, 2)
  const base = location.pathname.replace(/\\/${page.path}\\/?$/, '')
${page.script}
  fetch(base + '/${page.document}').then((r) => r.json()).then(render, (err) => {
    document.getElementById('main').textContent = 'Cannot load ${page.document}: ' + err
  })
})()
</script>
</body>
</html>
`

export const consoleStyle = `
:root { color-scheme: light dark; --bg:#fff; --fg:#1d2330; --muted:#6b7385; --line:#e2e5ec; --card:#f5f6f9; --ok:#1f9d55; --warn:#b7791f; --bad:#d64545; --accent:#2f6fde; }
@media (prefers-color-scheme: dark) { :root { --bg:#11141a; --fg:#e4e7ee; --muted:#8d95a8; --line:#2a2f3a; --card:#181c24; --accent:#6ea0ff; } }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, sans-serif; background:var(--bg); color:var(--fg); }
header { display:flex; flex-wrap:wrap; align-items:center; gap:16px; padding:10px 16px; border-bottom:1px solid var(--line); }
h1 { font-size:16px; margin:0; }
form { display:flex; flex-wrap:wrap; gap:10px; align-items:center; }
label { color:var(--muted); font-size:12px; display:inline-flex; gap:6px; align-items:center; }
input, select, button { font:inherit; color:var(--fg); background:var(--bg); border:1px solid var(--line); border-radius:4px; padding:4px 8px; }
#pattern { font-family:ui-monospace, monospace; width:16em; }
button { cursor:pointer; } #connect { background:var(--accent); color:#fff; border:0; }
#bar { display:flex; flex-wrap:wrap; gap:18px; align-items:center; padding:8px 16px; background:var(--card); border-bottom:1px solid var(--line); font-size:13px; }
#bar .spacer { flex:1; }
b[data-state=live], b[data-state=connected] { color:var(--ok); }
b[data-state=connecting], b[data-state=reconnecting], b[data-state=paused] { color:var(--warn); }
b[data-state=error], b[data-state=disconnected], b[data-state=closed], b[data-state=unreachable] { color:var(--bad); }
#message { margin:0; padding:0 16px; color:var(--bad); min-height:0; }
#message:not(:empty) { padding:6px 16px; }
#hint { margin:0; padding:6px 16px; color:var(--muted); } #hint[hidden] { display:none; }
table { width:100%; border-collapse:collapse; font-size:13px; }
th { text-align:left; font-weight:600; color:var(--muted); padding:6px 10px; border-bottom:1px solid var(--line); position:sticky; top:0; background:var(--bg); }
td { padding:5px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
tr.event { cursor:pointer; } tr.event:hover { background:var(--card); }
tr.event td:nth-child(3), tr.event td:nth-child(5) { font-family:ui-monospace, monospace; }
.type { font:600 12px ui-monospace, monospace; padding:1px 6px; border-radius:10px; background:var(--card); border:1px solid var(--line); }
.type[data-group=entity] { color:#2f6fde; } .type[data-group=deployment] { color:#8a4fd8; } .type[data-group=swap] { color:#b7791f; }
.type[data-group=health], .type[data-group=performance] { color:#d64545; }
tr.json td { background:var(--card); } pre { margin:0; font-size:12px; white-space:pre-wrap; word-break:break-all; }
.muted { color:var(--muted); }
`

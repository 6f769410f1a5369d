export const consolePage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Library events — live console</title>
<link rel="stylesheet" href="console/app.css">
</head>
<body>
<header>
  <h1>Library events</h1>
  <form id="connect-form" autocomplete="off">
    <label>Token <input id="token" type="password" placeholder="bridge token with subscribe scope" required></label>
    <label>Subject <input id="pattern" value="library.>" spellcheck="false" required></label>
    <label>From <select id="from">
      <option value="new">new events</option>
      <option value="start">stream start</option>
    </select></label>
    <button id="connect" type="submit">Connect</button>
  </form>
</header>
<section id="bar">
  <span>Stream <b id="conn-state" data-state="idle">idle</b></span>
  <span>Reconnects <b id="reconnects">0</b></span>
  <span>Last id <b id="last-id">–</b></span>
  <span>NATS <b id="nats-state" data-state="unknown">unknown</b> <small id="nats-detail"></small></span>
  <span class="spacer"></span>
  <label>Type <select id="type-filter"><option value="">all</option></select></label>
  <button id="pause" type="button">Pause</button>
  <button id="clear" type="button">Clear</button>
  <span id="counts">0 events</span>
</section>
<p id="message" role="status"></p>
<p id="hint" role="status" hidden><span id="hint-text"></span> <button id="replay" type="button">Show the stream from its start</button></p>
<table>
  <thead><tr><th>Time</th><th>Type</th><th>Subject</th><th>About</th><th>Id</th></tr></thead>
  <tbody id="events"></tbody>
</table>
<script src="console/app.js"></script>
</body>
</html>
`

import { referencePage } from '../reference-page'

/**
 * An interactive reference for an OpenAPI document served next to it: operations by tag,
 * parameters, schemas, examples, and a form that sends the request.
 */
export const docsPage = (title: string) =>
  referencePage({
    path: 'docs',
    document: 'openapi.json',
    title: `${title} — API reference`,
    style: `nav a { font-size:13px; }
.m { font:600 11px/18px ui-monospace, monospace; text-transform:uppercase; min-width:50px; }
.get{color:#1f9d55}.post{color:#2f6fde}.patch{color:#b7791f}.put{color:#b7791f}.delete{color:#d64545}
td code { word-break:break-all; font-size:12px; }
input, textarea, select, button { font:inherit; color:inherit; background:var(--bg); border:1px solid var(--line); border-radius:4px; padding:4px 6px; }
textarea { width:100%; min-height:120px; font:12px ui-monospace, monospace; }
button { background:var(--accent); color:#fff; border:0; padding:5px 12px; cursor:pointer; }
.row { display:flex; gap:8px; align-items:center; flex-wrap:wrap; margin:4px 0; }
#auth { width:100%; }`,
    nav: `<div id="title"><strong>${title}</strong></div>
<div class="row"><input id="auth" type="password" placeholder="Bearer token for Try it" autocomplete="off"></div>
<div id="toc"></div>`,
    script: `  const auth = document.getElementById('auth')
  const KEY = 'api-docs-token:' + location.host
  auth.value = localStorage.getItem(KEY) || ''
  auth.addEventListener('change', () => localStorage.setItem(KEY, auth.value))

  const tryIt = (path, method, op) => {
    const params = (op.parameters || []).filter((p) => p.in !== 'header' || p.name.toLowerCase() !== 'authorization')
    const inputs = params.map((p) => {
      const input = $('input', { placeholder: p.name + (p.required ? ' *' : ''), 'data-in': p.in, 'data-name': p.name })
      return input
    })
    const examples = op.requestBody && Object.values(op.requestBody.content)[0].examples
    const first = examples && Object.values(examples)[0]
    const body = op.requestBody ? $('textarea', { text: first ? json(first.value) : '{}' }) : undefined
    const out = $('pre', { text: '' })
    const send = $('button', { text: 'Send' })
    send.addEventListener('click', async () => {
      let url = base + path
      const query = new URLSearchParams()
      const headers = {}
      for (const input of inputs) {
        if (!input.value) continue
        const where = input.dataset.in, name = input.dataset.name
        if (where === 'path') url = url.replace('{' + name + '}', encodeURIComponent(input.value))
        else if (where === 'query') query.set(name, input.value)
        else headers[name] = input.value
      }
      if (auth.value) headers.authorization = 'Bearer ' + auth.value
      if (body) headers['content-type'] = 'application/json'
      const qs = query.toString()
      out.textContent = '…'
      try {
        const res = await fetch(url + (qs ? '?' + qs : ''), { method: method.toUpperCase(), headers, body: body ? body.value : undefined })
        const type = res.headers.get('content-type') || ''
        if (type.includes('text/event-stream')) { out.textContent = res.status + ' (event stream; use the console)'; res.body && res.body.cancel(); return }
        const text = await res.text()
        let shown = text
        try { shown = json(JSON.parse(text)) } catch {}
        out.textContent = res.status + ' ' + res.statusText + '\\n' + shown
      } catch (err) { out.textContent = String(err) }
    })
    return $('details', {}, $('summary', { text: 'Try it' }), $('div', { class: 'row' }, ...inputs), body, $('div', { class: 'row' }, send), out)
  }

  const render = (doc) => {
    document.title = doc.info.title + ' — API reference'
    document.getElementById('title').replaceChildren($('strong', { text: doc.info.title }), $('div', { class: 'muted', text: 'v' + doc.info.version + ' · ' }, $('a', { href: base + '/openapi.json', text: 'openapi.json' })))
    const toc = document.getElementById('toc'), main = document.getElementById('main')
    main.replaceChildren($('h1', { text: doc.info.title }), $('p', { text: doc.info.description }))
    const byTag = new Map()
    for (const [path, item] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || 'other'
      if (!byTag.has(tag)) byTag.set(tag, [])
      byTag.get(tag).push({ path, method, op })
    }
    for (const [tag, list] of byTag) {
      toc.append($('h2', { text: tag }))
      main.append($('h2', { text: tag }))
      for (const { path, method, op } of list) {
        const id = op.operationId
        toc.append($('a', { href: '#' + id }, $('span', { class: 'm ' + method, text: method }), $('span', { text: path })))
        const section = $('section', { class: 'op', id }, $('h3', {}, $('span', { class: 'm ' + method, text: method + ' ' }), path), $('div', { text: op.summary }))
        if (op.description) section.append($('p', { class: 'muted', text: op.description }))
        if (op.security && op.security.length) section.append($('div', { class: 'muted', text: 'Auth: ' + Object.keys(op.security[0]).join(', ') }))
        if (op.parameters) {
          const rows = op.parameters.map((p) => $('tr', {}, $('td', { text: p.name + (p.required ? ' *' : '') }), $('td', { text: p.in }), $('td', { text: p.description || '' }), $('td', {}, $('code', { text: p.schema ? JSON.stringify(p.schema) : '' }))))
          section.append($('table', {}, $('tr', {}, $('th', { text: 'Parameter' }), $('th', { text: 'In' }), $('th', { text: 'Description' }), $('th', { text: 'Schema' })), ...rows))
        }
        if (op.requestBody) {
          const [type, media] = Object.entries(op.requestBody.content)[0]
          section.append($('details', {}, $('summary', { text: 'Request body (' + type + ')' }), $('pre', { text: json(media.schema) })))
          for (const ex of Object.values(media.examples || {})) section.append($('details', {}, $('summary', { text: 'Example: ' + ex.summary }), $('pre', { text: json(ex.value) })))
        }
        for (const [status, res] of Object.entries(op.responses)) {
          const media = res.content && Object.entries(res.content)[0]
          section.append($('details', {}, $('summary', { text: status + ' — ' + res.description }), media ? $('pre', { text: media[0] + '\\n' + json(media[1].schema) }) : undefined))
        }
        section.append(tryIt(path, method, op))
        main.append(section)
      }
    }
  }`,
  })

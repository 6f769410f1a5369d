import { referencePage } from '../../shared/reference-page'

/**
 * A reference for the AsyncAPI document served next to it: channels with their subjects, streams
 * and messages, operations, headers, schemas and examples.
 */
export const asyncApiPage = referencePage({
  path: 'asyncapi',
  document: 'asyncapi.json',
  title: 'NATS surface — AsyncAPI reference',
  style: `body { grid-template-columns: 300px 1fr; }
nav a { font:12px ui-monospace, monospace; }
.a { font:600 11px/18px ui-monospace, monospace; text-transform:uppercase; min-width:58px; }
.send{color:#2f6fde}.receive{color:#1f9d55}
.tag { font:12px ui-monospace, monospace; background:var(--card); border-radius:4px; padding:1px 6px; }`,
  nav: '<div id="title"><strong>AsyncAPI</strong></div><div id="toc"></div>',
  script: `  const resolve = (doc, node) => {
    while (node && node.$ref) node = node.$ref.slice(2).split('/').reduce((at, key) => at && at[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc)
    return node
  }
  const headersTable = (headers) => {
    const props = (headers && headers.properties) || {}
    const required = new Set((headers && headers.required) || [])
    const rows = Object.entries(props).map(([name, schema]) => $('tr', {}, $('td', {}, $('code', { text: name + (required.has(name) ? ' *' : '') })), $('td', { text: schema.description || '' }), $('td', {}, $('code', { text: JSON.stringify(Object.fromEntries(Object.entries(schema).filter(([k]) => k !== 'description'))) }))))
    return rows.length ? $('table', {}, $('tr', {}, $('th', { text: 'Header' }), $('th', { text: 'Meaning' }), $('th', { text: 'Schema' })), ...rows) : undefined
  }
  const message = (doc, msg) => {
    msg = resolve(doc, msg)
    const box = $('div', {}, $('h4', { text: 'Message ' + (msg.title || msg.name) }))
    if (msg.summary) box.append($('p', { class: 'muted', text: msg.summary }))
    box.append(headersTable(resolve(doc, msg.headers)) || '')
    box.append($('details', {}, $('summary', { text: 'Payload schema (' + (msg.contentType || doc.defaultContentType || '') + ')' }), $('pre', { text: json(resolve(doc, msg.payload)) })))
    for (const ex of msg.examples || []) box.append($('details', {}, $('summary', { text: 'Example: ' + (ex.name || '') }), $('pre', { text: (ex.headers ? json(ex.headers) + '\\n' : '') + json(ex.payload) })))
    return box
  }
  const render = (doc) => {
    document.title = doc.info.title + ' — AsyncAPI reference'
    document.getElementById('title').replaceChildren($('strong', { text: doc.info.title }), $('div', { class: 'muted', text: 'AsyncAPI ' + doc.asyncapi + ' · v' + doc.info.version + ' · ' }, $('a', { href: base + '/asyncapi.json', text: 'asyncapi.json' })))
    const toc = document.getElementById('toc'), main = document.getElementById('main')
    main.replaceChildren($('h1', { text: doc.info.title }), $('p', { text: doc.info.description }))
    for (const [name, server] of Object.entries(doc.servers || {})) main.append($('p', { class: 'muted' }, $('span', { class: 'tag', text: server.protocol + '://' + server.host }), ' ' + name + ': ' + (server.description || '')))
    const opsByChannel = new Map()
    for (const [id, op] of Object.entries(doc.operations || {})) {
      const key = op.channel.$ref.split('/').pop()
      if (!opsByChannel.has(key)) opsByChannel.set(key, [])
      opsByChannel.get(key).push({ id, op })
    }
    toc.append($('h2', { text: 'Channels' }))
    for (const [id, channel] of Object.entries(doc.channels || {})) {
      const ops = opsByChannel.get(id) || []
      const anchor = 'channel-' + id
      toc.append($('a', { href: '#' + anchor }, $('span', { class: 'a ' + (ops[0] ? ops[0].op.action : ''), text: ops[0] ? ops[0].op.action : 'reply' }), $('span', { text: channel.address || channel.title || id })))
      const section = $('section', { class: 'ch', id: anchor }, $('h3', { text: channel.address || '(dynamic: ' + (channel.title || id) + ')' }))
      if (channel.description) section.append($('p', { text: channel.description }))
      if (channel['x-jetstream']) section.append($('p', {}, $('span', { class: 'tag', text: 'JetStream stream ' + channel['x-jetstream'].stream })))
      for (const { id: opId, op } of ops) {
        section.append($('p', {}, $('span', { class: 'a ' + op.action, text: op.action + ' ' }), $('strong', { text: op.title || opId }), ' — ' + (op.summary || '')))
        if (op.reply) section.append($('p', { class: 'muted', text: 'Reply on ' + op.reply.channel.$ref.split('/').pop() }))
      }
      for (const msg of Object.values(channel.messages || {})) section.append(message(doc, msg))
      main.append(section)
    }
  }`,
})

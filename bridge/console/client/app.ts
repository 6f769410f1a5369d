/**
 * The live event console in the browser, bundled by scripts/build-console.ts into app.bundle.ts.
 * Reads the SSE stream with fetch rather than EventSource so the token travels in the
 * Authorization header, never in a URL; resumes with Last-Event-ID after any drop.
 */
import { EVENT_TYPES } from '../../../shared/event-types'

interface Frame {
  id: string
  type: string
  data: string
}

/** The parts of an event (or any JSON a subject carries) the table shows. */
interface Shown {
  event_id?: string
  event_type?: string
  timestamp?: string
  entity_id?: string
  entity_name?: string
  swap_id?: string
  data?: unknown
}

/** The parts of GET /health/detailed the status bar shows. */
interface Health {
  nats: { state: string; server?: string; reconnects: number }
  stream: { ready: boolean; info?: { messages?: unknown } }
}

const MAX_ROWS = 2000
const HEALTH_POLL_MS = 3000
const TOKEN_KEY = 'library-console-token'
const PATTERN_KEY = 'library-console-pattern'
const base = location.pathname.replace(/\/console\/?$/, '')

const element = <T extends HTMLElement>(id: string, kind: { new (): T }): T => {
  const found = document.getElementById(id)
  if (!(found instanceof kind)) throw new Error(`the console page has no #${id}`)
  return found
}
const ui = {
  form: element('connect-form', HTMLFormElement),
  token: element('token', HTMLInputElement),
  pattern: element('pattern', HTMLInputElement),
  from: element('from', HTMLSelectElement),
  conn: element('conn-state', HTMLElement),
  reconnects: element('reconnects', HTMLElement),
  lastId: element('last-id', HTMLElement),
  nats: element('nats-state', HTMLElement),
  natsDetail: element('nats-detail', HTMLElement),
  type: element('type-filter', HTMLSelectElement),
  pause: element('pause', HTMLButtonElement),
  clear: element('clear', HTMLButtonElement),
  counts: element('counts', HTMLElement),
  message: element('message', HTMLElement),
  rows: element('events', HTMLTableSectionElement),
  hint: element('hint', HTMLElement),
  hintText: element('hint-text', HTMLElement),
  replay: element('replay', HTMLButtonElement),
}

// seen: the stream sequences on screen or held, so a replay that overlaps them adds no second row
const state = {
  lastId: '',
  reconnects: 0,
  paused: false,
  held: [] as Frame[],
  shown: 0,
  seen: new Set<string>(),
  source: '',
  live: false,
  streamMessages: 0,
  controller: null as AbortController | null,
  retryTimer: 0,
  attempt: 0,
}

const hashToken = new URLSearchParams(location.hash.slice(1)).get('token')
if (hashToken) {
  localStorage.setItem(TOKEN_KEY, hashToken)
  history.replaceState(null, '', location.pathname + location.search)
}
ui.token.value = localStorage.getItem(TOKEN_KEY) || ''
ui.pattern.value = localStorage.getItem(PATTERN_KEY) || ui.pattern.value
for (const type of EVENT_TYPES) ui.type.append(new Option(type, type))

const setConn = (value: string, message?: string) => {
  ui.conn.textContent = value
  ui.conn.dataset.state = value
  ui.message.textContent = message || ''
  state.live = value === 'live'
  updateHint()
}
const cell = (text: string, cls?: string) => {
  const td = document.createElement('td')
  if (cls) td.className = cls
  td.textContent = text
  return td
}
const visible = (type: string | undefined) => !ui.type.value || ui.type.value === type
const updateCounts = () => {
  ui.counts.textContent = `${state.shown} events${state.held.length ? ` (${state.held.length} held)` : ''}`
  updateHint()
}
// an empty table while the stream already holds events: say where they are
const updateHint = () => {
  const empty = state.shown === 0 && state.held.length === 0
  const show = state.live && empty && ui.from.value === 'new' && state.streamMessages > 0
  ui.hint.hidden = !show
  if (show) {
    ui.hintText.textContent =
      `No new events yet. The stream already holds ${state.streamMessages} ` +
      `event${state.streamMessages === 1 ? '' : 's'}: this view shows only those published from now on.`
  }
}
// what is about: the entity, else the swap, else the component whose health changed
const about = (event: Shown) => {
  if (event.entity_id) return (event.entity_name ? `${event.entity_name} ` : '') + event.entity_id
  if (event.swap_id) return `swap ${event.swap_id}`
  const data = event.data
  if (data && typeof data === 'object' && 'component' in data && typeof data.component === 'string')
    return `component ${data.component}`
  return ''
}

const render = ({ id, type, data }: Frame) => {
  let event: unknown
  try {
    event = JSON.parse(data)
  } catch {
    event = data
  }
  const shown: Shown | undefined = event && typeof event === 'object' ? (event as Shown) : undefined
  const eventType = shown?.event_type || type || 'message'
  const subject = (EVENT_TYPES as readonly string[]).includes(eventType) ? `library.${eventType}` : type
  const time = shown?.timestamp ? new Date(shown.timestamp) : new Date()
  const entity = shown ? about(shown) : ''
  const row = document.createElement('tr')
  row.className = 'event'
  row.dataset.type = eventType
  if (id) row.dataset.id = id
  if (shown?.entity_id) row.dataset.entity = shown.entity_id
  if (shown?.swap_id) row.dataset.swap = shown.swap_id
  if (shown?.event_id) row.dataset.eventId = shown.event_id
  const badge = document.createElement('span')
  badge.className = 'type'
  badge.dataset.group = eventType.split('.')[0]
  badge.textContent = eventType
  const typeCell = cell('')
  typeCell.append(badge)
  const clock = `${time.toLocaleTimeString(undefined, { hour12: false })}.${String(time.getMilliseconds()).padStart(3, '0')}`
  row.append(cell(clock), typeCell, cell(subject), cell(entity, 'muted'), cell(id || ''))
  row.title = time.toISOString()
  row.hidden = !visible(eventType)
  row.addEventListener('click', () => {
    const next = row.nextElementSibling
    if (next?.classList.contains('json')) {
      next.remove()
      return
    }
    const detail = document.createElement('tr')
    detail.className = 'json'
    const td = document.createElement('td')
    td.colSpan = 5
    const pre = document.createElement('pre')
    pre.textContent = shown ? JSON.stringify(event, null, 2) : String(event)
    td.append(pre)
    detail.append(td)
    row.after(detail)
  })
  ui.rows.prepend(row)
  state.shown++
  while (ui.rows.rows.length > MAX_ROWS) {
    const last = ui.rows.lastElementChild
    if (!(last instanceof HTMLElement)) break
    if (last.dataset.id) state.seen.delete(last.dataset.id)
    last.remove()
  }
}

const clearRows = () => {
  ui.rows.replaceChildren()
  state.held = []
  state.seen.clear()
  state.shown = 0
  updateCounts()
}

const deliver = (frame: Frame) => {
  if (frame.id) {
    state.lastId = frame.id
    ui.lastId.textContent = frame.id
  }
  if (frame.type === 'error') {
    ui.message.textContent = `The bridge ended the stream: ${frame.data}`
    return
  }
  if (frame.id) {
    if (state.seen.has(frame.id)) return
    state.seen.add(frame.id)
  }
  if (state.paused) state.held.push(frame)
  else render(frame)
  updateCounts()
}

// One SSE frame: lines up to a blank line; comments (heartbeats) and retry: are ignored.
const parseFrame = (block: string): Frame | null => {
  let id = ''
  let type = ''
  const data: string[] = []
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'id') id = value
    else if (field === 'event') type = value
    else if (field === 'data') data.push(value)
  }
  return data.length ? { id, type, data: data.join('\n') } : null
}

const scheduleReconnect = (message: string) => {
  state.reconnects++
  ui.reconnects.textContent = String(state.reconnects)
  const delay = Math.min(10000, 500 * 2 ** Math.min(state.attempt++, 5))
  setConn('reconnecting', `${message} — retrying in ${Math.round(delay / 100) / 10} s`)
  state.retryTimer = window.setTimeout(connect, delay)
}

const connect = async () => {
  clearTimeout(state.retryTimer)
  if (state.controller) state.controller.abort()
  const controller = new AbortController()
  state.controller = controller
  const token = ui.token.value.trim()
  if (!token) {
    setConn('idle', 'Enter a bridge token with a subscribe scope')
    return
  }
  const query = new URLSearchParams({ subject: ui.pattern.value.trim(), from: ui.from.value })
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' }
  if (state.lastId) headers['last-event-id'] = state.lastId
  setConn('connecting')
  let res: Response
  try {
    res = await fetch(`${base}/v1/subscribe?${query}`, {
      headers,
      signal: controller.signal,
      cache: 'no-store',
    })
  } catch {
    if (controller.signal.aborted) return
    scheduleReconnect('Cannot reach the bridge')
    return
  }
  if (!res.ok || !res.body) {
    let detail = `${res.status} ${res.statusText}`
    try {
      const body = (await res.json()) as { error: { code: string; message: string } }
      detail = `${body.error.code}: ${body.error.message}`
    } catch {}
    if (res.status === 401 || res.status === 403 || res.status === 400) setConn('error', detail)
    else scheduleReconnect(detail)
    return
  }
  state.attempt = 0
  setConn('live')
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += value
      for (let end = buffer.search(/\r?\n\r?\n/); end >= 0; end = buffer.search(/\r?\n\r?\n/)) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '')
        const frame = parseFrame(block)
        if (frame) deliver(frame)
      }
    }
  } catch {
    if (controller.signal.aborted) return
  }
  if (controller.signal.aborted) return
  scheduleReconnect('The stream was cut')
}

ui.form.addEventListener('submit', (e) => {
  e.preventDefault()
  localStorage.setItem(TOKEN_KEY, ui.token.value.trim())
  localStorage.setItem(PATTERN_KEY, ui.pattern.value.trim())
  // another subject or starting point is another list of events, not more of this one
  const source = `${ui.pattern.value.trim()} ${ui.from.value}`
  if (source !== state.source) clearRows()
  state.source = source
  state.lastId = ''
  ui.lastId.textContent = '–'
  state.attempt = 0
  void connect()
})
ui.type.addEventListener('change', () => {
  for (const row of ui.rows.querySelectorAll<HTMLElement>('tr.event')) {
    row.hidden = !visible(row.dataset.type)
    const next = row.nextElementSibling
    if (next instanceof HTMLElement && next.classList.contains('json')) next.hidden = row.hidden
  }
})
ui.pause.addEventListener('click', () => {
  state.paused = !state.paused
  ui.pause.textContent = state.paused ? 'Resume' : 'Pause'
  ui.pause.dataset.paused = String(state.paused)
  if (!state.paused) {
    for (const frame of state.held.splice(0)) render(frame)
  }
  updateCounts()
})
ui.clear.addEventListener('click', clearRows)
ui.replay.addEventListener('click', () => {
  ui.from.value = 'start'
  ui.form.requestSubmit()
})

const pollHealth = async () => {
  try {
    const res = await fetch(`${base}/health/detailed`, { cache: 'no-store' })
    const body = (await res.json()) as Health
    ui.nats.textContent = body.nats.state
    ui.nats.dataset.state = body.nats.state
    ui.natsDetail.textContent =
      `${body.nats.server || ''} · reconnects ${body.nats.reconnects}` +
      (body.stream.ready ? '' : ' · stream not ready')
    const messages = body.stream.info?.messages
    state.streamMessages = typeof messages === 'number' ? messages : 0
    updateHint()
  } catch {
    ui.nats.textContent = 'unreachable'
    ui.nats.dataset.state = 'unreachable'
    ui.natsDetail.textContent = ''
  }
}
void pollHealth()
setInterval(pollHealth, HEALTH_POLL_MS)
state.source = `${ui.pattern.value.trim()} ${ui.from.value}`
if (ui.token.value) void connect()
else setConn('idle', 'Enter a bridge token with a subscribe scope')

export const DEFAULT_MAX_JSON_DEPTH = 32

/**
 * Levels an event puts around the free-form input it carries: `entity.updated` holds a config three
 * levels inside `data` (`data.changes.config.to`). An event's `data` and `metadata` may nest this
 * much deeper than the input limit, so that no event built from accepted input is refused by the
 * bridge, which would leave it in the outbox for ever.
 */
export const EVENT_WRAPPING_LEVELS = 3

/** How deep an event's `data` and `metadata` may nest, for an input limit of `maxJsonDepth`. */
export const eventFieldDepthLimit = (maxJsonDepth: number) => maxJsonDepth + EVENT_WRAPPING_LEVELS

/**
 * Depth of a parsed JSON value: a scalar is 0, `{}` and `[]` are 1, `{"a": {}}` is 2.
 * Walks with an explicit stack (no recursion), and stops at the first container deeper than
 * `max`, returning the path to it; undefined when the value nests at most `max` levels.
 */
export const findTooDeep = (value: unknown, max: number): (string | number)[] | undefined => {
  type Frame = { entries: [string | number, unknown][]; next: number; key: string | number | undefined }
  const entriesOf = (v: object): [string | number, unknown][] =>
    Array.isArray(v) ? v.map((item, i) => [i, item]) : Object.entries(v)
  if (typeof value !== 'object' || value === null) return undefined
  if (max < 1) return []
  const stack: Frame[] = [{ entries: entriesOf(value), next: 0, key: undefined }]
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!
    if (top.next >= top.entries.length) {
      stack.pop()
      continue
    }
    const [key, child] = top.entries[top.next++]!
    if (typeof child !== 'object' || child === null) continue
    if (stack.length >= max) return [...stack.slice(1).map((f) => f.key!), key]
    stack.push({ entries: entriesOf(child), next: 0, key })
  }
  return undefined
}

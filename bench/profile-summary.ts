/**
 * Where a `--cpu-prof` profile spends its time: self time by function and by package/file.
 *
 *   tsx bench/profile-summary.ts bench/CPU.*.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const [file, topArg] = process.argv.slice(2)
if (!file) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]')
  process.exit(2)
}
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const selfUs = new Map<number, number>()
for (const [i, id] of profile.samples.entries())
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
// Percentages are of busy time: the idle samples say nothing about where the work goes.
for (const node of profile.nodes) if (node.callFrame.functionName === '(idle)') selfUs.delete(node.id)
const total = [...selfUs.values()].reduce((a, b) => a + b, 0)

const where = (url: string) => {
  if (!url) return '(native)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]!
  if (url.startsWith('node:')) return url
  return url.replace(/^file:\/\/.*?\/dist\//, 'dist/')
}

const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us)
const functions = new Map<string, number>()
const places = new Map<string, number>()
for (const [id, us] of selfUs) {
  const { callFrame } = byId.get(id)!
  const name = callFrame.functionName || '(anonymous)'
  add(functions, `${name}  ${where(callFrame.url)}:${callFrame.lineNumber + 1}`, us)
  add(places, where(callFrame.url), us)
}

const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`)
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(
      `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`,
    )
}
console.log(`${file}: ${(total / 1e6).toFixed(1)} s busy`)
print('self time by package / file', places)
print('self time by function', functions)

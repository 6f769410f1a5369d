// Plain JS: bootstrap.mjs runs it before tsx is installed.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[\w.-]+)?(?:\+[\w.-]+)?$/

/**
 * Why `node_modules` does not match the manifest, or undefined when it does: a direct dependency
 * missing, or installed at another version than the exact one the manifest pins. A range or a
 * non-registry spec only has to be present. `installedVersion(name)` is undefined when absent.
 */
export const staleDependencies = (manifest, installedVersion) => {
  const wanted = { ...manifest.dependencies, ...manifest.devDependencies }
  const problems = []
  for (const [name, spec] of Object.entries(wanted)) {
    const installed = installedVersion(name)
    if (installed === undefined) problems.push(`${name} is not installed`)
    else if (EXACT_VERSION.test(spec) && installed !== spec)
      problems.push(`${name} ${installed} is installed, package.json pins ${spec}`)
  }
  return problems.length ? problems : undefined
}

/** The version in `node_modules/<name>/package.json`, undefined when it cannot be read. */
export const installedVersionIn = (root) => (name) => {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version
  } catch {
    return undefined
  }
}

export interface Manifest {
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
}

export declare const staleDependencies: (
  manifest: Manifest,
  installedVersion: (name: string) => string | undefined,
) => string[] | undefined

export declare const installedVersionIn: (root: string) => (name: string) => string | undefined

import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'
import { chromiumPath } from '../../../../scripts/lib/prerequisites'

export const CHROMIUM_PATH = chromiumPath()

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** The system Chromium (Debian package), never a downloaded one. */
export const launchChromium = async (): Promise<Browser> => {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get install -y chromium\` ` +
        '(npm test does it when run as root) or set CHROMIUM_PATH',
    )
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, headless: true })
}

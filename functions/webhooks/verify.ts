import { HttpError } from '../../shared/http-error'
import { verifyWebhook } from '../../shared/webhook-signing'
import type { SourceConfig } from './sources'

const MAX_WEBHOOK_ID_LENGTH = 256

/** Standard Webhooks verification against the source's secrets; any failure is a 401 naming the reason. */
export const verifyDelivery = async (
  source: SourceConfig,
  headers: Headers,
  body: string,
): Promise<{ id: string; timestamp: number }> => {
  const result = await verifyWebhook({
    secrets: source.secrets,
    headers,
    body,
    toleranceSeconds: source.tolerance_seconds,
  })
  if (!result.ok) throw new HttpError(401, result.reason, result.message)
  if (result.id.length > MAX_WEBHOOK_ID_LENGTH) {
    throw new HttpError(
      400,
      'invalid_webhook_id',
      `webhook-id must be at most ${MAX_WEBHOOK_ID_LENGTH} characters`,
    )
  }
  return { id: result.id, timestamp: result.timestamp }
}

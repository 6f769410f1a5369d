import * as v from 'valibot'
import { SubscriptionLastError, SubscriptionView } from '../../shared/bridge-contract'

/** What the registry stores per subscription (the KV value): the API's view and the secret. */
export const SubscriptionRecord = v.object({ ...SubscriptionView.entries, secret: v.string() })
export type SubscriptionRecord = v.InferOutput<typeof SubscriptionRecord>

/** Last delivery problem, kept apart from the record so writing it does not restart workers. */
export const DeliveryStatus = v.object({ last_error: v.nullable(SubscriptionLastError) })
export type DeliveryStatus = v.InferOutput<typeof DeliveryStatus>

/** The record as the API shows it: never the secret. */
export const publicView = ({ secret: _secret, ...rest }: SubscriptionRecord) => rest

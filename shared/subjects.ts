import { EVENT_TYPES, type EventType } from './event-types'

export const SUBJECT_PREFIX = 'library'
export const STREAM_NAME = 'LIBRARY_EVENTS'

export const SWAP_COMMAND_SUBJECT = 'library.swap.command'
export const SWAP_VALIDATE_SUBJECT = 'library.swap.validate'
/** Request/reply subjects answered by swap executors and forward routes (in their queue groups). */
export const REQUEST_SUBJECTS: readonly string[] = [SWAP_COMMAND_SUBJECT, SWAP_VALIDATE_SUBJECT]

export const subjectFor = (eventType: EventType): string => `${SUBJECT_PREFIX}.${eventType}`

/** Listed one by one: a `library.>` stream would capture the request subjects and answer them with PubAcks. */
export const STREAM_SUBJECTS: readonly string[] = EVENT_TYPES.map(subjectFor)

const eventTypeBySubject: ReadonlyMap<string, EventType> = new Map(EVENT_TYPES.map((t) => [subjectFor(t), t]))

export const eventTypeForSubject = (subject: string): EventType | undefined => eventTypeBySubject.get(subject)

/** Subjects the event stream captures: written only through the validated `/v1/events`. */
export const isStreamSubject = (subject: string): boolean => eventTypeBySubject.has(subject)

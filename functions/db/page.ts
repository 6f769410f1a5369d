/** A list query fetches `limit + 1` rows: the extra one only tells that another page follows. */
export const toPage = <R extends { seq: string }>(
  rows: R[],
  limit: number,
): { rows: R[]; nextSeq: string | null } => {
  if (rows.length <= limit) return { rows, nextSeq: null }
  const page = rows.slice(0, limit)
  return { rows: page, nextSeq: page[limit - 1]!.seq }
}

// Plain test keys; vitest.config.ts hashes them into the API_KEYS binding.
export const TEST_API_KEYS = {
  writer: { name: 'test-writer', key: 'lib_test_writer_4f1c2b9a7e6d5c3b', scopes: ['read', 'write'] },
  reader: { name: 'test-reader', key: 'lib_test_reader_8a7b6c5d4e3f2a1b', scopes: ['read'] },
} as const

import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the Realmcast client: `npm run codegen` reads the schema
 * and every operation under `client/` (one `.graphql` file per use, in
 * `client/operations/`) and writes `client/generated/`. The output is
 * committed and never edited by hand; `test/client/codegen.test.ts` fails when
 * it is stale.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['client/**/*.graphql', '!client/generated/**'],
  ignoreNoDocuments: false,
  // Relative imports with `.js` extensions, as NodeNext and `verbatimModuleSyntax` want.
  emitLegacyCommonJSImports: false,
  generates: {
    'client/generated/': {
      preset: 'client',
      presetConfig: {
        // Components read whole results; Apollo Client 4 has its own data masking if wanted.
        fragmentMasking: false,
      },
      config: {
        scalars: { DateTime: 'string' },
        strictScalars: true,
        enumType: 'string-literal',
        useTypeImports: true,
        emitLegacyCommonJSImports: false,
      },
    },
  },
};

export default config;

// The import graph's rules (npm run lint): the folders read as the data flow
//   model -> storage -> scan -> select -> commands -> report -> cli
// and each layer imports only from the layers before it.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'commands-stay-apart',
      comment: 'A command never imports another command: shared code lives in commands/*.ts or a lower layer.',
      severity: 'error',
      from: { path: '^src/commands/([^/]+)/' },
      to: { path: '^src/commands/([^/]+)/', pathNot: '^src/commands/$1/' },
    },
    {
      name: 'model-is-pure',
      comment: 'model/ is data and rules: no I/O, no layer above it.',
      severity: 'error',
      from: { path: '^src/model/' },
      to: { path: ['^src/(storage|scan|select|commands|report)/', '^src/cli', '^node:(fs|child_process|worker_threads|http|https)'] },
    },
    {
      name: 'layers-point-down',
      severity: 'error',
      from: { path: '^src/(storage|scan|select)/' },
      to: { path: ['^src/(commands|report)/', '^src/cli'] },
    },
    {
      name: 'storage-below-scan',
      severity: 'error',
      from: { path: '^src/storage/' },
      to: { path: '^src/(scan|select)/' },
    },
    {
      name: 'scan-below-select',
      severity: 'error',
      from: { path: '^src/scan/' },
      to: { path: '^src/select/' },
    },
    {
      name: 'commands-do-not-render',
      comment: 'Commands return results; the report layer renders them.',
      severity: 'error',
      from: { path: '^src/commands/' },
      to: { path: ['^src/report/', '^src/cli'] },
    },
    {
      name: 'src-ships-alone',
      comment: 'The shipped package holds no test, bench or fixture code.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|tools)/' },
    },
    { name: 'not-to-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
  },
};

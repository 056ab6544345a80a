import { createApp } from './app.js';
import { optionsFromEnvironment } from './config.js';
import { createLogger } from './logger.js';

/** Starts Realmcast from the environment (SPEC "Configuration") and stops it on SIGTERM/SIGINT. */
async function main() {
  const options = optionsFromEnvironment();
  const logger = createLogger(options.logLevel);
  const app = await createApp({ ...options, logger });
  logger.info(`GraphiQL: ${app.url}`);
  logger.info(`Dashboard: ${app.url.replace(/\/graphql$/, '/')}`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.dispose().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

import { getOperationAST, getVariableValues, Kind, type ExecutionArgs, type OperationDefinitionNode } from 'graphql';
import type { Context } from '../builder.js';
import type { FeedSpec } from '../events/feed.js';

/**
 * What makes two subscriptions share an execution: the stream and feed shape,
 * the operation, and its variables except the one the cursor came in (each
 * subscriber resumes from its own). Variables count as the operation declares
 * them, coerced (defaults applied, a single value where a list goes made a
 * list) and in declaration order: undeclared ones a client adds, or the same
 * values sent in another key order, run the same execution, so they must not
 * split groups (nor let one client open unbounded groups with junk).
 */
export function groupKey(spec: FeedSpec, args: ExecutionArgs): string {
  const operationName = args.operationName ?? '';
  const document = args.document.loc?.source.body ?? JSON.stringify(args.document);
  const operation = getOperationAST(args.document, args.operationName);
  const cursorVariable = operation && cursorVariableOf(operation);
  const variables = declaredVariables(args, operation);
  if (cursorVariable) delete variables[cursorVariable];
  return `${spec.stream}\n${spec.shape}\n${operationName}\n${JSON.stringify(variables)}\n${document}`;
}

/**
 * The arguments a group executes with: execution only needs what resolvers
 * read (the viewer, the services and the address), not the request or socket
 * the operation came with, which the group would otherwise keep alive.
 */
export function executionArgs(args: ExecutionArgs): ExecutionArgs {
  const { viewer, services, address } = args.contextValue as Context;
  return { ...args, contextValue: { viewer, services, address } satisfies Context };
}

/**
 * The operation's declared variables as graphql-js coerces them for
 * execution, keyed in declaration order. (Invalid variables never get here:
 * the subscribe step refused them; the raw declared values are the fallback.)
 */
function declaredVariables(args: ExecutionArgs, operation: OperationDefinitionNode | null | undefined): Record<string, unknown> {
  const definitions = operation?.variableDefinitions ?? [];
  const inputs = args.variableValues ?? {};
  const coerced = getVariableValues(args.schema, definitions, inputs, { maxErrors: 1 });
  if ('coerced' in coerced) return { ...coerced.coerced };
  return Object.fromEntries(definitions.map(({ variable }) => [variable.name.value, inputs[variable.name.value]]));
}

/** The variable the root field's `after` argument takes, if any. */
function cursorVariableOf(operation: OperationDefinitionNode): string | undefined {
  const root = operation.selectionSet.selections[0];
  if (root?.kind !== Kind.FIELD) return undefined;
  const after = root.arguments?.find((arg) => arg.name.value === 'after');
  return after?.value.kind === Kind.VARIABLE ? after.value.name.value : undefined;
}

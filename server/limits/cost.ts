import {
  getNamedType,
  GraphQLError,
  isInterfaceType,
  isObjectType,
  Kind,
  type ASTNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type OperationDefinitionNode,
  type ValidationContext,
  type ValidationRule,
  valueFromASTUntyped,
  type ArgumentNode,
} from 'graphql';

/**
 * graphql-armor's cost estimate (same weights, same formula: a field costs 1,
 * an object 2 plus 1.5 × its selections, a list field × its literal
 * `first`/`last`), plus the extra cost a field declares in its Pothos
 * `extensions` ({@link costExtension}): work a field does that its selection
 * does not show, such as an aggregate over many stored rows that answers one
 * object, or the points a range can return (a function of the arguments). Armor's own rule cannot see the schema's fields, hence this one.
 */
export const costWeights = {
  objectCost: 2,
  scalarCost: 1,
  depthCostFactor: 1.5,
} as const;

/** The value of an argument that an operation passes as a variable: unknown until it runs. */
export const fromVariable: unique symbol = Symbol('fromVariable');

/**
 * A field's arguments as the operation writes them, for its declared cost:
 * the literal value (enums as their name, strings as written), or
 * {@link fromVariable}; an omitted argument is absent (its default applies).
 */
export type CostArguments = ReadonlyMap<string, unknown>;

/**
 * The extra cost a field declares: a number, or a function of its arguments
 * as written and the time of validation (epoch ms) for a field whose work
 * depends on them (a range of points). It must assume the worst case where
 * a variable decides, since validation runs before the variables are read.
 */
export type FieldCost = number | ((args: CostArguments, nowMs: number) => number);

/** A field's `extensions` entry declaring its extra cost (added to its own cost, before a `first`/`last` multiplier). */
export const costExtension = (cost: FieldCost) => ({ cost });

function costArguments(nodes: readonly ArgumentNode[] | undefined): CostArguments {
  const args = new Map<string, unknown>();
  for (const arg of nodes ?? []) args.set(arg.name.value, arg.value.kind === Kind.VARIABLE ? fromVariable : valueFromASTUntyped(arg.value));
  return args;
}

/** The extra cost a field declares, 0 when none. */
function declaredCost(
  parent: GraphQLNamedType | undefined,
  fieldName: string,
  args: readonly ArgumentNode[] | undefined,
  nowMs: number,
): { cost: number; type: GraphQLNamedType | undefined } {
  if (!parent || !(isObjectType(parent) || isInterfaceType(parent))) return { cost: 0, type: undefined };
  const field = parent.getFields()[fieldName];
  if (!field) return { cost: 0, type: undefined };
  const declared = (field.extensions as { cost?: unknown } | undefined)?.cost;
  const cost = typeof declared === 'function' ? (declared as (args: CostArguments, nowMs: number) => number)(costArguments(args), nowMs) : declared;
  return { cost: typeof cost === 'number' && Number.isFinite(cost) ? cost : 0, type: getNamedType(field.type) };
}

/** The estimated cost of one operation; `nowMs` is what a declared cost measures a range ending now against. */
export function operationCost(context: ValidationContext, operation: OperationDefinitionNode, nowMs: number = Date.now()): number {
  const { objectCost, scalarCost, depthCostFactor } = costWeights;
  const schema = context.getSchema();
  const fragmentCosts = new Map<string, number>();
  const typeOf = (name: string | undefined) => (name ? schema.getType(name) ?? undefined : undefined);

  const costOf = (node: ASTNode, parent: GraphQLNamedType | undefined): number => {
    if (node.kind === Kind.FIELD && node.name.value === '__schema') return 0; // introspection is not counted
    let cost = scalarCost;
    let inner = parent;
    if (node.kind === Kind.FIELD) {
      const declared = declaredCost(parent, node.name.value, node.arguments, nowMs);
      cost += declared.cost;
      inner = declared.type;
    } else if (node.kind === Kind.INLINE_FRAGMENT) {
      inner = node.typeCondition ? typeOf(node.typeCondition.name.value) : parent;
    }
    if ('selectionSet' in node && node.selectionSet) {
      cost += objectCost - scalarCost;
      let multiplier = 1;
      if (node.kind === Kind.FIELD) {
        const size = node.arguments?.find((arg) => arg.name.value === 'first' || arg.name.value === 'last');
        if (size?.value.kind === Kind.INT) multiplier = Math.max(Number.parseInt(size.value.value, 10), 1);
      }
      for (const child of node.selectionSet.selections) cost += depthCostFactor * costOf(child, inner);
      return cost * multiplier;
    }
    if (node.kind === Kind.FRAGMENT_SPREAD) {
      const name = node.name.value;
      const known = fragmentCosts.get(name);
      // A spread seen before costs what it cost then (-1 while it is being costed: a cycle).
      if (known !== undefined) return cost + depthCostFactor * Math.max(known, 0);
      fragmentCosts.set(name, -1);
      const fragment: FragmentDefinitionNode | null | undefined = context.getFragment(name);
      if (fragment) {
        const fragmentCost = costOf(fragment, typeOf(fragment.typeCondition.name.value));
        cost += depthCostFactor * fragmentCost;
        fragmentCosts.set(name, fragmentCost);
      }
    }
    return cost;
  };

  const root = schema.getRootType(operation.operation) ?? undefined;
  return operation.selectionSet.selections.reduce((sum, child) => sum + costOf(child, root), 0);
}

/**
 * Refuses an operation whose {@link operationCost} is over `maxCost`, with
 * armor's message ("Query Cost limit of … exceeded, found …"), reported
 * through `onReject` (the caller turns it into `QUERY_TOO_COMPLEX`).
 */
export function costLimitRule(
  maxCost: number,
  onReject: (context: ValidationContext, error: GraphQLError) => void,
  /** Current time in epoch milliseconds (declared costs of ranges ending now). @default Date.now */
  clock: () => number = Date.now,
): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const cost = operationCost(context, operation, clock());
      if (cost > maxCost) onReject(context, new GraphQLError(`Query Cost limit of ${maxCost} exceeded, found ${cost}.`));
    },
  });
}

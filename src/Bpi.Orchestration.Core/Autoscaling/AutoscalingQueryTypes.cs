using Bpi.Orchestration.State;

namespace Bpi.Orchestration
{
    /// <summary>
    /// The query types an <see cref="AutoscalingMetric.Query"/> may hold in a stored deployment, each under a kind name
    /// (as <see cref="StrategySpecRegistry"/> names strategy specs): a store writes <c>{"kind": name, "query": {...}}</c>
    /// and reads it back by that name. The Strategies package registers its <c>MetricQuery</c> (kind <c>metric</c>) as
    /// soon as it is loaded. A query's value is serialized as the registered type, so a polymorphic base type (with its
    /// own type discriminator) covers all its derived queries; the most derived registered type wins.
    /// </summary>
    public static class AutoscalingQueryTypes
    {
        /// <summary>The registry behind this facade, shared with the stored format (<see cref="Autoscaling.AutoscalingQueryJsonConverter"/>).</summary>
        internal static readonly NamedTypeRegistry<NamedType> Registry = new(new NamedTypeRegistryOptions(
            TypeNoun: "autoscaling query type",
            NameNoun: "autoscaling query kind",
            RegisterMethod: $"{nameof(AutoscalingQueryTypes)}.{nameof(Register)}",
            NameComparer: StringComparer.Ordinal,
            CoversDerivedTypes: true));

        /// <summary>Registers <typeparamref name="TQuery"/> (and every type derived from it) under <paramref name="kind"/>; registering the same pair again does nothing.</summary>
        /// <typeparam name="TQuery">The query type.</typeparam>
        /// <param name="kind">The name stores write, for example <c>metric</c>.</param>
        /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: the kind already stands for another type, or the type is registered under another kind.</exception>
        public static void Register<TQuery>(string kind)
            where TQuery : class
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(kind);
            Registry.Register(new NamedType(kind, typeof(TQuery), []));
        }
    }
}

namespace Bpi.Orchestration.Autoscaling
{
    /// <summary>Writes an <see cref="AutoscalingMetric.Query"/> as <c>{"kind": name, "query": {...}}</c> by <see cref="AutoscalingQueryTypes"/>, and reads it back.</summary>
    internal sealed class AutoscalingQueryJsonConverter() : NamedTypeJsonConverter<object, NamedType>(AutoscalingQueryTypes.Registry, "kind", "query", "An autoscaling metric's query", payloadOptional: false);
}

using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bpi.Orchestration
{
    /// <summary>
    /// The query types an <see cref="AutoscalingMetric.Query"/> may hold in a stored deployment, each under a kind name
    /// (as <see cref="StrategySpecRegistry"/> names strategy specs): a store writes <c>{"kind": name, "query": {...}}</c>
    /// and reads it back by that name. The Strategies package registers its <c>MetricQuery</c> (kind <c>metric</c>) as
    /// soon as it is loaded. A query's value is serialized as the registered type, so a polymorphic base type (with its
    /// own type discriminator) covers all its derived queries.
    /// </summary>
    public static class AutoscalingQueryTypes
    {
        private static readonly Lock Gate = new();
        private static ImmutableDictionary<string, Type> s_byKind = ImmutableDictionary.Create<string, Type>(StringComparer.Ordinal);

        /// <summary>Registers <typeparamref name="TQuery"/> (and every type derived from it) under <paramref name="kind"/>; registering the same pair again does nothing.</summary>
        /// <typeparam name="TQuery">The query type.</typeparam>
        /// <param name="kind">The name stores write, for example <c>metric</c>.</param>
        /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: the kind already stands for another type.</exception>
        public static void Register<TQuery>(string kind)
            where TQuery : class
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(kind);
            lock (Gate)
            {
                if (s_byKind.TryGetValue(kind, out var existing))
                {
                    if (existing == typeof(TQuery))
                    {
                        return;
                    }

                    throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The autoscaling query kind '{kind}' already stands for {existing.Name}; choose another kind for {typeof(TQuery).Name}.");
                }

                s_byKind = s_byKind.Add(kind, typeof(TQuery));
            }
        }

        /// <summary>The type registered under a kind.</summary>
        internal static Type? Find(string kind) => s_byKind.GetValueOrDefault(kind);

        /// <summary>The kind and registered type a query is stored as: the registered type it derives from (the most derived one when several match).</summary>
        internal static (string Kind, Type Type)? Of(Type queryType)
        {
            (string Kind, Type Type)? best = null;
            foreach (var (kind, type) in s_byKind)
            {
                if (type.IsAssignableFrom(queryType) && (best is null || best.Value.Type.IsAssignableFrom(type)))
                {
                    best = (kind, type);
                }
            }

            return best;
        }

        /// <summary>The registered kinds, for error messages.</summary>
        internal static string Describe() => s_byKind.IsEmpty ? "none" : string.Join(", ", s_byKind.Keys.Order(StringComparer.Ordinal));
    }
}

namespace Bpi.Orchestration.Autoscaling
{
    /// <summary>Writes an <see cref="AutoscalingMetric.Query"/> as <c>{"kind": name, "query": {...}}</c> by <see cref="AutoscalingQueryTypes"/>, and reads it back.</summary>
    internal sealed class AutoscalingQueryJsonConverter : JsonConverter<object>
    {
        public override object? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("kind", out var kindElement) || kindElement.ValueKind != JsonValueKind.String || kindElement.GetString() is not { Length: > 0 } kind)
            {
                throw new JsonException($"An autoscaling metric's query needs a 'kind' (registered: {AutoscalingQueryTypes.Describe()}) and a 'query'.");
            }

            var type = AutoscalingQueryTypes.Find(kind)
                ?? throw new JsonException($"The autoscaling query kind '{kind}' is not registered (registered: {AutoscalingQueryTypes.Describe()}); add the package that provides it (for example .AddStrategies()).");
            if (!root.TryGetProperty("query", out var query))
            {
                throw new JsonException($"The autoscaling query of kind '{kind}' has no 'query'.");
            }

            return query.Deserialize(type, options) ?? throw new JsonException($"The autoscaling query of kind '{kind}' is null.");
        }

        public override void Write(Utf8JsonWriter writer, object value, JsonSerializerOptions options)
        {
            var type = value.GetType();
            if (AutoscalingQueryTypes.Of(type) is not { } registration)
            {
                throw new JsonException($"The autoscaling query type {type.Name} is not registered, so it could not be read back; register it with AutoscalingQueryTypes.Register<{type.Name}>(\"kind\") or use a registered query type (registered: {AutoscalingQueryTypes.Describe()}).");
            }

            writer.WriteStartObject();
            writer.WriteString("kind", registration.Kind);
            writer.WritePropertyName("query");
            JsonSerializer.Serialize(writer, value, registration.Type, options);
            writer.WriteEndObject();
        }
    }
}

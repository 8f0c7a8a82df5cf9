using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace Bpi.Orchestration;

/// <summary>
/// The one list of strategy names: which <see cref="StrategySpec"/> type each name stands for. Stored records
/// (<see cref="State.DeploymentJson"/>), configuration files and the HTTP API name a strategy spec by its registered
/// name, never by its .NET type. Core registers <c>recreate</c>; the Strategies package registers <c>rolling</c>
/// (alias <c>rollingUpdate</c>), <c>canary</c> and <c>blue-green</c> (alias <c>blueGreen</c>) as soon as it is loaded.
/// Names are written as registered (lowercase, words joined by <c>-</c>) and matched ignoring case, aliases included.
/// </summary>
public static class StrategySpecRegistry
{
    private static readonly Lock Gate = new();
    private static ImmutableDictionary<string, StrategySpecRegistration> s_byName = ImmutableDictionary.Create<string, StrategySpecRegistration>(StringComparer.OrdinalIgnoreCase);
    private static ImmutableDictionary<Type, StrategySpecRegistration> s_byType = ImmutableDictionary<Type, StrategySpecRegistration>.Empty;

    static StrategySpecRegistry() => Register<RecreateStrategySpec>(RecreateStrategySpec.StrategyName);

    /// <summary>Every registration, in name order.</summary>
    public static IReadOnlyList<StrategySpecRegistration> Registrations => [.. s_byType.Values.OrderBy(r => r.Name, StringComparer.Ordinal)];

    /// <summary>
    /// Registers <typeparamref name="TSpec"/> under <paramref name="name"/> (what stores write) and
    /// <paramref name="aliases"/> (also accepted when reading). Registering the same type under the same names again
    /// does nothing.
    /// </summary>
    /// <typeparam name="TSpec">The spec type; its <see cref="StrategySpec.Name"/> must be <paramref name="name"/>.</typeparam>
    /// <param name="name">The strategy name, lowercase, for example <c>canary</c>.</param>
    /// <param name="aliases">Other spellings accepted when reading, for example <c>blueGreen</c>.</param>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: a name or alias already stands for another type, or the type is registered under another name.</exception>
    public static void Register<TSpec>(string name, params string[] aliases)
        where TSpec : StrategySpec
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(aliases);
        var registration = new StrategySpecRegistration(name, typeof(TSpec), [.. aliases]);
        lock (Gate)
        {
            if (s_byType.TryGetValue(typeof(TSpec), out var existing))
            {
                if (existing.Name == name && existing.Aliases.SequenceEqual(aliases))
                {
                    return;
                }

                throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The strategy spec {typeof(TSpec).Name} is already registered as '{existing.Name}'; register each spec type once.");
            }

            var byName = s_byName;
            foreach (var key in aliases.Prepend(name))
            {
                if (byName.TryGetValue(key, out var taken))
                {
                    throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The strategy name '{key}' already stands for {taken.SpecType.Name}; choose another name for {typeof(TSpec).Name}.");
                }

                byName = byName.Add(key, registration);
            }

            s_byName = byName;
            s_byType = s_byType.Add(typeof(TSpec), registration);
        }
    }

    /// <summary>Finds the registration for a name or alias, ignoring case.</summary>
    /// <param name="nameOrAlias">The name, for example <c>canary</c> or <c>blueGreen</c>.</param>
    /// <param name="registration">The registration, when found.</param>
    /// <returns>Whether the name is registered.</returns>
    public static bool TryGet(string nameOrAlias, [NotNullWhen(true)] out StrategySpecRegistration? registration)
    {
        ArgumentNullException.ThrowIfNull(nameOrAlias);
        return s_byName.TryGetValue(nameOrAlias, out registration);
    }

    /// <summary>Finds the registration of a spec type.</summary>
    /// <param name="specType">The spec type.</param>
    /// <param name="registration">The registration, when found.</param>
    /// <returns>Whether the type is registered.</returns>
    public static bool TryGet(Type specType, [NotNullWhen(true)] out StrategySpecRegistration? registration)
    {
        ArgumentNullException.ThrowIfNull(specType);
        return s_byType.TryGetValue(specType, out registration);
    }

    /// <summary>The registered names joined for messages: <c>recreate, rolling, canary or blue-green</c>.</summary>
    /// <returns>The names.</returns>
    public static string DescribeNames()
    {
        var names = Registrations.Select(r => r.Name).ToList();
        return names.Count == 1 ? names[0] : string.Join(", ", names.Take(names.Count - 1)) + " or " + names[^1];
    }
}

/// <summary>A strategy name and the spec type it stands for.</summary>
/// <param name="Name">The name stores write, for example <c>blue-green</c>.</param>
/// <param name="SpecType">The <see cref="StrategySpec"/> type.</param>
/// <param name="Aliases">Other spellings accepted when reading, for example <c>blueGreen</c>.</param>
public sealed record StrategySpecRegistration(string Name, Type SpecType, IReadOnlyList<string> Aliases);

using System.Diagnostics.CodeAnalysis;

namespace Bpi.Orchestration;

/// <summary>
/// The one list of strategy names: which <see cref="StrategySpec"/> type each name stands for. Stored records
/// (<see cref="State.DeploymentJson"/>), configuration files and the HTTP API name a strategy spec by its registered
/// name, never by its .NET type. Core registers <c>recreate</c>; the Strategies package registers <c>rolling</c>
/// (alias <c>rollingUpdate</c>), <c>canary</c> and <c>blue-green</c> (alias <c>blueGreen</c>) as soon as it is loaded.
/// Names are written as registered (lowercase, words joined by <c>-</c>) and matched ignoring case, aliases included.
/// A spec is stored under its own type's name only: a type derived from a registered spec must be registered itself.
/// </summary>
public static class StrategySpecRegistry
{
    /// <summary>The registry behind this facade, shared with the stored format (<see cref="State.DeploymentJson"/>).</summary>
    internal static readonly NamedTypeRegistry<StrategySpecRegistration> Registry = new(new NamedTypeRegistryOptions(
        TypeNoun: "strategy spec",
        NameNoun: "strategy",
        RegisterMethod: $"{nameof(StrategySpecRegistry)}.{nameof(Register)}",
        NameComparer: StringComparer.OrdinalIgnoreCase,
        CoversDerivedTypes: false));

    static StrategySpecRegistry() => Register<RecreateStrategySpec>(RecreateStrategySpec.StrategyName);

    /// <summary>Every registration, in name order.</summary>
    public static IReadOnlyList<StrategySpecRegistration> Registrations => Registry.Registrations;

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
        Registry.Register(new StrategySpecRegistration(name, typeof(TSpec), [.. aliases]));
    }

    /// <summary>Finds the registration for a name or alias, ignoring case.</summary>
    /// <param name="nameOrAlias">The name, for example <c>canary</c> or <c>blueGreen</c>.</param>
    /// <param name="registration">The registration, when found.</param>
    /// <returns>Whether the name is registered.</returns>
    public static bool TryGet(string nameOrAlias, [NotNullWhen(true)] out StrategySpecRegistration? registration) => Registry.TryGet(nameOrAlias, out registration);

    /// <summary>Finds the registration of a spec type.</summary>
    /// <param name="specType">The spec type.</param>
    /// <param name="registration">The registration, when found.</param>
    /// <returns>Whether the type is registered.</returns>
    public static bool TryGet(Type specType, [NotNullWhen(true)] out StrategySpecRegistration? registration) => Registry.TryGet(specType, out registration);

    /// <summary>The registered names joined for messages: <c>recreate, rolling, canary or blue-green</c>.</summary>
    /// <returns>The names.</returns>
    public static string DescribeNames() => Registry.DescribeNames();
}

/// <summary>A strategy name and the spec type it stands for.</summary>
/// <param name="Name">The name stores write, for example <c>blue-green</c>.</param>
/// <param name="SpecType">The <see cref="StrategySpec"/> type.</param>
/// <param name="Aliases">Other spellings accepted when reading, for example <c>blueGreen</c>.</param>
public sealed record StrategySpecRegistration(string Name, Type SpecType, IReadOnlyList<string> Aliases) : INamedType
{
    /// <inheritdoc />
    Type INamedType.Type => SpecType;
}

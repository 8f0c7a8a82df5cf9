using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace Bpi.Orchestration;

/// <summary>A name, the other spellings accepted for it, and the type it stands for: one entry of a <see cref="NamedTypeRegistry{TEntry}"/>.</summary>
internal interface INamedType
{
    /// <summary>The name stores write.</summary>
    string Name { get; }

    /// <summary>The type the name stands for.</summary>
    Type Type { get; }

    /// <summary>Other spellings accepted when reading.</summary>
    IReadOnlyList<string> Aliases { get; }
}

/// <summary>What a <see cref="NamedTypeRegistry{TEntry}"/> holds, and the words its errors use.</summary>
/// <param name="TypeNoun">What a registered type is, for messages: <c>strategy spec</c>.</param>
/// <param name="NameNoun">What a name is, for messages: <c>strategy name</c>.</param>
/// <param name="RegisterMethod">The public method that registers a type, for messages: <c>StrategySpecRegistry.Register</c>.</param>
/// <param name="NameComparer">How names are matched: <see cref="StringComparer.OrdinalIgnoreCase"/> or <see cref="StringComparer.Ordinal"/>.</param>
/// <param name="CoversDerivedTypes">
/// Whether a registration also stands for the types derived from it when writing (the most derived registered type
/// wins), which is right when the registered type is a polymorphic base that serializes its derived types itself.
/// When <see langword="false"/> only the registered type itself is written, so a derived type never loses its own
/// properties by being stored as its base.
/// </param>
internal sealed record NamedTypeRegistryOptions(string TypeNoun, string NameNoun, string RegisterMethod, StringComparer NameComparer, bool CoversDerivedTypes);

/// <summary>
/// The mechanism behind every "stored by name" registry (<see cref="StrategySpecRegistry"/>,
/// <see cref="AutoscalingQueryTypes"/>): a thread-safe map of names and aliases to types and back, so stored records
/// and documents name a type by a stable name and never by its .NET type name. Registrations are only added; readers
/// see one consistent snapshot without taking the lock.
/// </summary>
/// <typeparam name="TEntry">What a registration is (the facade's public registration type, or <see cref="NamedType"/>).</typeparam>
internal sealed class NamedTypeRegistry<TEntry>
    where TEntry : class, INamedType
{
    private readonly Lock _gate = new();
    private volatile Snapshot _snapshot;

    /// <summary>Creates an empty registry.</summary>
    /// <param name="options">What it holds and how its errors name things.</param>
    public NamedTypeRegistry(NamedTypeRegistryOptions options)
    {
        Options = options;
        _snapshot = new Snapshot(ImmutableDictionary.Create<string, TEntry>(options.NameComparer), ImmutableDictionary<Type, TEntry>.Empty);
    }

    /// <summary>What the registry holds and how its errors name things.</summary>
    public NamedTypeRegistryOptions Options { get; }

    /// <summary>Every registration, in name order.</summary>
    public IReadOnlyList<TEntry> Registrations => [.. _snapshot.ByType.Values.OrderBy(r => r.Name, StringComparer.Ordinal)];

    /// <summary>
    /// Adds a registration. Registering the same type under the same name and aliases again does nothing; a name or
    /// alias that already stands for another type, or a type already registered under other names, is refused and
    /// nothing is registered.
    /// </summary>
    /// <param name="entry">The registration.</param>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: the registration conflicts with an earlier one.</exception>
    public void Register(TEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentException.ThrowIfNullOrWhiteSpace(entry.Name);
        ArgumentNullException.ThrowIfNull(entry.Type);
        ArgumentNullException.ThrowIfNull(entry.Aliases);
        foreach (var alias in entry.Aliases)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(alias, nameof(entry.Aliases));
        }

        var type = entry.Type;
        lock (_gate)
        {
            var snapshot = _snapshot;
            if (snapshot.ByType.TryGetValue(type, out var existing))
            {
                if (string.Equals(existing.Name, entry.Name, StringComparison.Ordinal) && existing.Aliases.SequenceEqual(entry.Aliases, StringComparer.Ordinal))
                {
                    return;
                }

                throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The {Options.TypeNoun} {type.Name} is already registered as {Describe(existing)}, not {Describe(entry)}; register each type once, under one name.");
            }

            var byName = snapshot.ByName;
            foreach (var key in entry.Aliases.Prepend(entry.Name))
            {
                if (byName.TryGetValue(key, out var taken))
                {
                    throw new OrchestrationException(
                        OrchestrationErrorKind.InvalidConfiguration,
                        ReferenceEquals(taken, entry)
                            ? $"The {Options.NameNoun} '{key}' is given twice for {type.Name}; give each name or alias once."
                            : $"The {Options.NameNoun} '{key}' already stands for {taken.Type.Name}; choose another name for {type.Name}.");
                }

                byName = byName.Add(key, entry);
            }

            _snapshot = new Snapshot(byName, snapshot.ByType.Add(type, entry));
        }
    }

    /// <summary>Finds the registration of a name or alias.</summary>
    /// <param name="nameOrAlias">The name.</param>
    /// <param name="entry">The registration, when found.</param>
    /// <returns>Whether the name is registered.</returns>
    public bool TryGet(string nameOrAlias, [NotNullWhen(true)] out TEntry? entry)
    {
        ArgumentNullException.ThrowIfNull(nameOrAlias);
        return _snapshot.ByName.TryGetValue(nameOrAlias, out entry);
    }

    /// <summary>Finds the registration of exactly this type.</summary>
    /// <param name="type">The type.</param>
    /// <param name="entry">The registration, when found.</param>
    /// <returns>Whether the type is registered.</returns>
    public bool TryGet(Type type, [NotNullWhen(true)] out TEntry? entry)
    {
        ArgumentNullException.ThrowIfNull(type);
        return _snapshot.ByType.TryGetValue(type, out entry);
    }

    /// <summary>
    /// The registration a value of <paramref name="type"/> is written under: its own, or (when the registry covers
    /// derived types) the most derived registered type it derives from.
    /// </summary>
    /// <param name="type">The value's type.</param>
    /// <returns>The registration, or <see langword="null"/> when none applies.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: the type derives from two registered types neither of which derives from the other.</exception>
    public TEntry? ForWriting(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var snapshot = _snapshot;
        if (snapshot.ByType.TryGetValue(type, out var exact) || !Options.CoversDerivedTypes)
        {
            return exact;
        }

        if (snapshot.Derived.TryGetValue(type, out var cached))
        {
            return cached;
        }

        // The registered types the value is one of, without those another of them derives from.
        var matches = snapshot.ByType.Values.Where(r => r.Type.IsAssignableFrom(type)).ToList();
        var mostDerived = matches.Where(r => !matches.Any(other => !ReferenceEquals(other, r) && r.Type.IsAssignableFrom(other.Type))).OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
        if (mostDerived.Count > 1)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The {Options.TypeNoun} {type.Name} is {string.Join(" and ", mostDerived.Select(r => $"a {r.Type.Name} ('{r.Name}')"))}, so which name to store it under is unclear; register {type.Name} itself with {Options.RegisterMethod}<{type.Name}>(\"name\").");
        }

        return snapshot.Derived.GetOrAdd(type, mostDerived.FirstOrDefault());
    }

    /// <summary>The registered names (not aliases) for messages: <c>a</c>, <c>a or b</c>, <c>a, b or c</c>; <c>none</c> when there are none.</summary>
    /// <returns>The names, in ordinal order.</returns>
    public string DescribeNames()
    {
        var names = Registrations.Select(r => r.Name).ToList();
        return names.Count switch
        {
            0 => "none",
            1 => names[0],
            _ => string.Join(", ", names.Take(names.Count - 1)) + " or " + names[^1],
        };
    }

    private static string Describe(TEntry entry) => entry.Aliases.Count == 0 ? $"'{entry.Name}'" : $"'{entry.Name}' (aliases '{string.Join("', '", entry.Aliases)}')";

    /// <summary>The registrations at one moment; <see cref="Derived"/> caches <see cref="ForWriting"/> for types registered only through a base, and is dropped with the snapshot when a registration is added.</summary>
    private sealed record Snapshot(ImmutableDictionary<string, TEntry> ByName, ImmutableDictionary<Type, TEntry> ByType)
    {
        public ConcurrentDictionary<Type, TEntry?> Derived { get; } = new();
    }
}

/// <summary>A registration of a <see cref="NamedTypeRegistry{TEntry}"/> whose facade has no public registration type of its own.</summary>
/// <param name="Name">The name stores write.</param>
/// <param name="Type">The type the name stands for.</param>
/// <param name="Aliases">Other spellings accepted when reading.</param>
internal sealed record NamedType(string Name, Type Type, IReadOnlyList<string> Aliases) : INamedType;

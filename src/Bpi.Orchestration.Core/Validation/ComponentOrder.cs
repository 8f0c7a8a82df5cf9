namespace Bpi.Orchestration;

/// <summary>Orders components so that every component comes after the components it depends on.</summary>
public static class ComponentOrder
{
    /// <summary>Returns the components in dependency order (dependencies first), stable with respect to the input order.</summary>
    /// <param name="components">The components of a valid spec (no unknown dependencies, no cycles).</param>
    /// <returns>The components, dependencies first.</returns>
    /// <exception cref="OrchestrationException">The dependencies form a cycle.</exception>
    public static IReadOnlyList<ComponentSpec> Sort(IReadOnlyList<ComponentSpec> components)
    {
        ArgumentNullException.ThrowIfNull(components);
        var dependencies = false;
        for (var i = 0; i < components.Count; i++)
        {
            dependencies |= components[i].DependsOn.Count > 0;
        }

        if (!dependencies)
        {
            // Nothing depends on anything: the declared order is a dependency order.
            return components;
        }

        var byId = components.ToDictionary(c => c.Id, StringComparer.Ordinal);
        var result = new List<ComponentSpec>(components.Count);
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 = visiting, 2 = done

        foreach (var c in components)
        {
            Visit(c);
        }

        return result;

        void Visit(ComponentSpec c)
        {
            if (state.TryGetValue(c.Id, out var s))
            {
                if (s == 1)
                {
                    throw OrchestrationException.InvalidConfiguration("The component graph", [$"component '{c.Id}' is part of a dependency cycle."]);
                }

                return;
            }

            state[c.Id] = 1;
            foreach (var dependency in c.DependsOn)
            {
                if (byId.TryGetValue(dependency, out var d))
                {
                    Visit(d);
                }
            }

            state[c.Id] = 2;
            result.Add(c);
        }
    }

    /// <summary>The position of the component with <paramref name="componentId"/>, or -1: a plain scan, as lists are short.</summary>
    internal static int IndexOf(IReadOnlyList<ComponentSpec> components, string componentId)
    {
        for (var i = 0; i < components.Count; i++)
        {
            if (string.Equals(components[i].Id, componentId, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The component with <paramref name="componentId"/>, or <see langword="null"/>.</summary>
    internal static ComponentSpec? Find(IReadOnlyList<ComponentSpec> components, string componentId)
        => IndexOf(components, componentId) is var i and >= 0 ? components[i] : null;

    internal static IReadOnlyList<string>? FindCycle(IReadOnlyList<ComponentSpec> components)
    {
        var byId = components.ToDictionary(c => c.Id, StringComparer.Ordinal);
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new List<string>();

        foreach (var c in components)
        {
            var cycle = Visit(c);
            if (cycle is not null)
            {
                return cycle;
            }
        }

        return null;

        IReadOnlyList<string>? Visit(ComponentSpec c)
        {
            if (state.TryGetValue(c.Id, out var s))
            {
                if (s == 1)
                {
                    var start = stack.IndexOf(c.Id);
                    return [.. stack.Skip(start), c.Id];
                }

                return null;
            }

            state[c.Id] = 1;
            stack.Add(c.Id);
            foreach (var dependency in c.DependsOn)
            {
                if (!string.Equals(dependency, c.Id, StringComparison.Ordinal) && byId.TryGetValue(dependency, out var d))
                {
                    var cycle = Visit(d);
                    if (cycle is not null)
                    {
                        return cycle;
                    }
                }
            }

            stack.RemoveAt(stack.Count - 1);
            state[c.Id] = 2;
            return null;
        }
    }
}

using System.Text.Json;
using Bpi.Orchestration.State;
using Xunit;

namespace Bpi.Orchestration.Tests.Model;

/// <summary>
/// The rules of the one mechanism behind <see cref="StrategySpecRegistry"/> and <see cref="AutoscalingQueryTypes"/>:
/// registering, names and aliases, which name a value is written under, and the envelope a store writes.
/// </summary>
public sealed class NamedTypeRegistryTests
{
    [Fact]
    public void Registering_the_same_type_under_the_same_names_again_does_nothing()
    {
        var registry = Registry();
        registry.Register(new NamedType("square", typeof(Square), ["box"]));
        registry.Register(new NamedType("square", typeof(Square), ["box"]));

        var registration = Assert.Single(registry.Registrations);
        Assert.Equal(("square", typeof(Square)), (registration.Name, registration.Type));
    }

    [Fact]
    public void A_name_taken_by_another_type_is_refused_naming_both_and_registers_nothing()
    {
        var registry = Registry();
        registry.Register(new NamedType("square", typeof(Square), ["box"]));

        var error = Assert.Throws<OrchestrationException>(() => registry.Register(new NamedType("circle", typeof(Circle), ["ring", "box"])));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Equal("The shape name 'box' already stands for Square; choose another name for Circle.", error.Message);
        Assert.False(registry.TryGet("circle", out _), "a refused registration registers nothing, not even its names before the conflict");
        Assert.False(registry.TryGet(typeof(Circle), out _));
    }

    [Fact]
    public void A_type_registered_under_other_names_is_refused_naming_both()
    {
        var registry = Registry();
        registry.Register(new NamedType("square", typeof(Square), ["box"]));

        var renamed = Assert.Throws<OrchestrationException>(() => registry.Register(new NamedType("quad", typeof(Square), [])));
        var realiased = Assert.Throws<OrchestrationException>(() => registry.Register(new NamedType("square", typeof(Square), [])));

        Assert.Equal("The shape Square is already registered as 'square' (aliases 'box'), not 'quad'; register each type once, under one name.", renamed.Message);
        Assert.Contains("not 'square';", realiased.Message, StringComparison.Ordinal);
        Assert.False(registry.TryGet("quad", out _));
    }

    [Fact]
    public void A_name_given_twice_in_one_registration_is_refused()
    {
        var registry = Registry(StringComparer.OrdinalIgnoreCase);

        var error = Assert.Throws<OrchestrationException>(() => registry.Register(new NamedType("square", typeof(Square), ["Square"])));

        Assert.Equal("The shape name 'Square' is given twice for Square; give each name or alias once.", error.Message);
    }

    [Fact]
    public void An_alias_finds_its_registration_and_case_is_matched_by_the_registrys_comparer()
    {
        var ignoringCase = Registry(StringComparer.OrdinalIgnoreCase);
        var exact = Registry(StringComparer.Ordinal);
        foreach (var registry in new[] { ignoringCase, exact })
        {
            registry.Register(new NamedType("square", typeof(Square), ["box"]));
        }

        Assert.True(ignoringCase.TryGet("BOX", out var byAlias));
        Assert.Equal("square", byAlias.Name);
        Assert.True(exact.TryGet("box", out _));
        Assert.False(exact.TryGet("BOX", out _));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_most_derived_registered_type_names_a_value_on_write_whatever_the_registration_order(bool baseFirst)
    {
        var registry = Registry(coversDerivedTypes: true);
        NamedType[] registrations = [new("any-shape", typeof(Shape), []), new("square", typeof(Square), [])];
        foreach (var registration in baseFirst ? registrations : registrations.Reverse())
        {
            registry.Register(registration);
        }

        Assert.Equal("square", registry.ForWriting(typeof(BigSquare))?.Name);
        Assert.Equal("square", registry.ForWriting(typeof(Square))?.Name);
        Assert.Equal("any-shape", registry.ForWriting(typeof(Circle))?.Name);
        Assert.Null(registry.ForWriting(typeof(string)));

        // Written as the registered type: a BigSquare is stored as the Square it is.
        var json = JsonSerializer.Serialize<Shape>(new BigSquare(2), Options(registry));
        Assert.Equal("""{"shape":"square","data":{"side":2}}""", json);
    }

    [Fact]
    public void A_registration_added_later_is_seen_by_the_next_write()
    {
        var registry = Registry(coversDerivedTypes: true);
        registry.Register(new NamedType("any-shape", typeof(Shape), []));
        Assert.Equal("any-shape", registry.ForWriting(typeof(BigSquare))?.Name);

        registry.Register(new NamedType("square", typeof(Square), []));

        Assert.Equal("square", registry.ForWriting(typeof(BigSquare))?.Name);
    }

    [Fact]
    public void Without_derived_types_only_the_registered_type_itself_is_written()
    {
        var registry = Registry(coversDerivedTypes: false);
        registry.Register(new NamedType("square", typeof(Square), []));

        Assert.Null(registry.ForWriting(typeof(BigSquare)));
        var error = Assert.Throws<JsonException>(() => JsonSerializer.Serialize<Shape>(new BigSquare(2), Options(registry)));
        Assert.Equal("The shape BigSquare is not registered, so it could not be read back; register it with Shapes.Register<BigSquare>(\"name\") (registered: square).", error.Message);
    }

    [Fact]
    public void A_type_that_is_two_unrelated_registered_types_is_refused_on_write_naming_both()
    {
        var registry = Registry(coversDerivedTypes: true);
        registry.Register(new NamedType("round", typeof(IRound), []));
        registry.Register(new NamedType("pointy", typeof(IPointy), []));

        var error = Assert.Throws<JsonException>(() => JsonSerializer.Serialize<Shape>(new Star(), Options(registry)));

        Assert.Equal("The shape Star is a IPointy ('pointy') and a IRound ('round'), so which name to store it under is unclear; register Star itself with Shapes.Register<Star>(\"name\").", error.Message);
        registry.Register(new NamedType("star", typeof(Star), []));
        Assert.Equal("star", registry.ForWriting(typeof(Star))?.Name);
    }

    [Fact]
    public void An_envelope_reads_back_by_name_or_alias_and_ignores_other_properties()
    {
        var registry = Registry(StringComparer.OrdinalIgnoreCase);
        registry.Register(new NamedType("square", typeof(Square), ["box"]));
        registry.Register(new NamedType("circle", typeof(Circle), []));
        var options = Options(registry);

        Assert.Equal(new Square(3), JsonSerializer.Deserialize<Shape>("""{"shape":"Box","type":"Acme.Square, Acme","data":{"side":3}}""", options));
        Assert.Equal(new Circle(1), JsonSerializer.Deserialize<Shape>(JsonSerializer.Serialize<Shape>(new Circle(1), options), options));
    }

    [Fact]
    public void An_unknown_name_on_read_lists_the_registered_names()
    {
        var registry = Registry();
        registry.Register(new NamedType("square", typeof(Square), ["box"]));
        registry.Register(new NamedType("circle", typeof(Circle), []));
        registry.Register(new NamedType("any-shape", typeof(Shape), []));

        var unknown = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Shape>("""{"shape":"hexagon","data":{}}""", Options(registry)));
        var missing = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Shape>("""{"data":{}}""", Options(registry)));

        Assert.Equal("The shape name 'hexagon' is not registered (registered: any-shape, circle or square); add the package that provides it (for example .AddStrategies()).", unknown.Message);
        Assert.Equal("A shape needs a 'shape' (registered: any-shape, circle or square) and a 'data'.", missing.Message);
    }

    [Fact]
    public void A_missing_payload_reads_as_the_types_defaults_only_where_it_is_optional()
    {
        var registry = Registry();
        registry.Register(new NamedType("square", typeof(Square), []));

        Assert.Equal(new Square(0), JsonSerializer.Deserialize<Shape>("""{"shape":"square"}""", Options(registry, payloadOptional: true)));
        var required = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Shape>("""{"shape":"square"}""", Options(registry)));
        var nullPayload = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Shape>("""{"shape":"square","data":null}""", Options(registry, payloadOptional: true)));
        Assert.Equal("A shape named 'square' has no 'data'.", required.Message);
        Assert.Equal("A shape named 'square' has a null 'data'; give its data as an object.", nullPayload.Message);
    }

    [Theory]
    [InlineData(0, "none")]
    [InlineData(1, "a")]
    [InlineData(2, "a or b")]
    [InlineData(3, "a, b or c")]
    public void The_names_are_described_for_messages_in_order(int count, string expected)
    {
        var registry = Registry();
        Type[] types = [typeof(Circle), typeof(Square), typeof(Star)];
        foreach (var i in Enumerable.Range(0, count).Reverse())
        {
            registry.Register(new NamedType(((char)('a' + i)).ToString(), types[i], []));
        }

        Assert.Equal(expected, registry.DescribeNames());
    }

    private static NamedTypeRegistry<NamedType> Registry(StringComparer? comparer = null, bool coversDerivedTypes = false)
        => new(new NamedTypeRegistryOptions("shape", "shape name", "Shapes.Register", comparer ?? StringComparer.Ordinal, coversDerivedTypes));

    private static JsonSerializerOptions Options(NamedTypeRegistry<NamedType> registry, bool payloadOptional = false)
        => new(JsonSerializerDefaults.Web) { Converters = { new ShapeConverter(registry, payloadOptional) } };

    private sealed class ShapeConverter(NamedTypeRegistry<NamedType> registry, bool payloadOptional)
        : NamedTypeJsonConverter<Shape, NamedType>(registry, "shape", "data", "A shape", payloadOptional);

    public abstract record Shape;

    public sealed record Circle(double Radius) : Shape;

    public record Square(double Side) : Shape;

    public sealed record BigSquare(double Side) : Square(Side);

    public interface IRound;

    public interface IPointy;

    public sealed record Star : Shape, IRound, IPointy;
}

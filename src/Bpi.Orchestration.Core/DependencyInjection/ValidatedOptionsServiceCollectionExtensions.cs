using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The one options recipe every Bpi.Orchestration package registers its options with.</summary>
public static class ValidatedOptionsServiceCollectionExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TOptions"/> the way every Bpi.Orchestration package does:
    /// <c>services.AddOptions&lt;TOptions&gt;().Configure(configure).ValidateOnStart()</c> with
    /// <typeparamref name="TValidator"/> (an <see cref="IValidateOptions{TOptions}"/> that lists every failure). A generic
    /// host then refuses to start with every problem listed; without a host the options are validated when first read
    /// through <see cref="IOptions{TOptions}.Value"/>, which the component that uses them does on construction.
    /// </summary>
    /// <typeparam name="TOptions">The options type.</typeparam>
    /// <typeparam name="TValidator">The validator, listing every failure.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; <see langword="null"/> keeps the defaults.</param>
    /// <returns>The options builder, for further configuration.</returns>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, Action<TOptions>? configure = null)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<TOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return builder.ValidateOnStart();
    }
}

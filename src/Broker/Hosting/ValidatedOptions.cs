using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MqttIm.Broker.Hosting;

/// <summary>
/// Binds an options section once and checks its data annotations right away, so values that Kestrel or a CLI verb use
/// while the host is being built are the validated ones; the same instance is what <c>IOptions&lt;T&gt;</c> returns.
/// </summary>
internal static class ValidatedOptions
{
    public static T Bind<T>(IConfiguration configuration, string sectionName)
        where T : class, new()
    {
        var options = configuration.GetSection(sectionName).Get<T>() ?? new T();
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            throw new OptionsValidationException(sectionName, typeof(T),
                results.Select(r => $"{sectionName}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }

        return options;
    }

    /// <summary>Binds, validates and registers the instance as <c>IOptions&lt;T&gt;</c>.</summary>
    public static T AddValidated<T>(this IServiceCollection services, IConfiguration configuration, string sectionName)
        where T : class, new()
    {
        var options = Bind<T>(configuration, sectionName);
        services.AddSingleton<IOptions<T>>(Options.Create(options));
        return options;
    }
}

namespace MqttIm.ImExtensions.Auth;

/// <summary>Configuration section <c>Acl</c>.</summary>
public sealed class AclOptions
{
    public const string SectionName = "Acl";

    /// <summary>Whether authenticated clients may publish and subscribe on topics outside the reserved IM/IoT roots.</summary>
    public bool AllowPlainTopics { get; set; } = true;
}

namespace MqttIm.Web.Tests;

/// <summary>All browser tests share one broker and one Chromium, and run one after another (2 cores; many pages each).</summary>
[CollectionDefinition(Name)]
public sealed class WebCollection : ICollectionFixture<WebFixture>
{
    public const string Name = "web";
}

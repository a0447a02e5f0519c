// Reading the documents attached to an object: SBOM components (CycloneDX or SPDX JSON) and
// in-toto statements inside DSSE envelopes (SLSA provenance: builder and materials).

export interface Component {
  name: string;
  version: string;
  purl: string;
  licence: string;
}

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (value && typeof value === "object" ? (value as Json) : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const str = (value: unknown): string => (typeof value === "string" ? value : "");

export function components(document: unknown): Component[] {
  const doc = obj(document);
  if (Array.isArray(doc.packages)) {
    // SPDX 2.x
    return list(doc.packages).map((item) => {
      const pkg = obj(item);
      const purl = list(pkg.externalRefs)
        .map(obj)
        .find((ref) => ref.referenceType === "purl");
      const licence = str(pkg.licenseConcluded) || str(pkg.licenseDeclared);
      return {
        name: str(pkg.name),
        version: str(pkg.versionInfo),
        purl: str(purl?.referenceLocator),
        licence: licence === "NOASSERTION" ? "" : licence,
      };
    });
  }
  // CycloneDX (nested components flattened)
  const found: Component[] = [];
  const visit = (items: unknown): void => {
    for (const item of list(items)) {
      const component = obj(item);
      const licences = list(component.licenses)
        .map(obj)
        .map(
          (entry) =>
            str(entry.expression) || str(obj(entry.license).id) || str(obj(entry.license).name),
        )
        .filter(Boolean);
      found.push({
        name: str(component.name),
        version: str(component.version),
        purl: str(component.purl),
        licence: licences.join(", "),
      });
      visit(component.components);
    }
  };
  visit(doc.components);
  return found;
}

export interface Statement {
  predicateType: string;
  builder: string;
  materials: { uri: string; digest: string }[];
}

export function statement(envelope: unknown): Statement | null {
  const payload = str(obj(envelope).payload) || str(obj(obj(envelope).dsseEnvelope).payload);
  if (!payload) return null;
  let parsed: Json;
  try {
    parsed = obj(JSON.parse(atob(payload)));
  } catch {
    return null;
  }
  const predicate = obj(parsed.predicate);
  const v1 = obj(predicate.runDetails);
  const builder = str(obj(predicate.builder).id) || str(obj(v1.builder).id);
  const sources = Array.isArray(predicate.materials)
    ? predicate.materials
    : obj(predicate.buildDefinition).resolvedDependencies;
  const materials = list(sources).map((item) => {
    const material = obj(item);
    const digests = Object.entries(obj(material.digest)).map(
      ([alg, value]) => `${alg}:${str(value)}`,
    );
    return { uri: str(material.uri), digest: digests.join(" ") };
  });
  return { predicateType: str(parsed.predicateType), builder, materials };
}

/** The media type an SBOM file is attached as, from what it holds. */
export function sbomMediaType(text: string): string {
  try {
    const doc = obj(JSON.parse(text));
    if (doc.spdxVersion) return "application/spdx+json";
  } catch {
    /* the gateway says what is wrong with it */
  }
  return "application/vnd.cyclonedx+json";
}

/** A City/Country and an ASN database answer as one flat object (English names), null when both are empty. */
import type { AsnResponse, CityResponse } from 'maxmind';
import type { GeoIpResult } from '../query/geoip.ts';

export function toGeoIpResult(c: CityResponse | null, a: AsnResponse | null): GeoIpResult | null {
  const out: Record<string, string | number> = {};
  const country = c?.country ?? c?.registered_country;
  if (country?.iso_code) out['country_code'] = country.iso_code;
  if (country?.names?.en) out['country'] = country.names.en;
  if (c?.continent?.code) out['continent_code'] = c.continent.code;
  const sub = c?.subdivisions?.[0];
  if (sub?.names?.en) out['subdivision'] = sub.names.en;
  if (c?.city?.names?.en) out['city'] = c.city.names.en;
  if (c?.postal?.code) out['postal_code'] = c.postal.code;
  if (typeof c?.location?.latitude === 'number') out['latitude'] = c.location.latitude;
  if (typeof c?.location?.longitude === 'number') out['longitude'] = c.location.longitude;
  if (typeof c?.location?.accuracy_radius === 'number') out['accuracy_radius_km'] = c.location.accuracy_radius;
  if (c?.location?.time_zone) out['time_zone'] = c.location.time_zone;
  if (typeof a?.autonomous_system_number === 'number') out['asn'] = a.autonomous_system_number;
  if (a?.autonomous_system_organization) out['as_org'] = a.autonomous_system_organization;
  return Object.keys(out).length === 0 ? null : Object.freeze(out) as GeoIpResult;
}
